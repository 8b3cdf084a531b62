package hsm

// DefaultMaxSessions is how many sessions a Module opens at most when WithMaxSessions is not
// given (fewer when the token allows fewer): the number of signatures it computes in parallel.
const DefaultMaxSessions = 16

// Option configures Open.
type Option func(*options)

type options struct {
	maxSessions int
}

// WithMaxSessions bounds the Module's session pool; n < 1 means DefaultMaxSessions. Callers
// beyond the bound wait for a session to be returned.
func WithMaxSessions(n int) Option { return func(o *options) { o.maxSessions = n } }
