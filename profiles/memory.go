package profiles

import (
	"errors"
	"fmt"
	"math"
)

// Card is a card in the memory-aware eligibility model of the project design (DESIGN.md,
// "Memory-aware eligibility", after the Java Card memory-management paper). All quantities are in
// one unit of the caller's choosing (bytes for Check, whose Requirements are in bytes) and must not
// be negative.
//
// The card has M units of free application memory, whose type (reset- or deselect-transient) is
// not fixed in advance, and N logical channels, each with a fixed reserve of Dc units of
// deselect-transient memory. An applet (Applet) declares C7 (its largest reset-transient quota)
// and D7 (the reset-transient memory reserved for it at install), or neither, in which case R (the
// reset-transient memory it actually takes) counts; and D, the deselect-transient memory it needs
// while selected.
//
//   - With C7/D7: installable iff D7 ≤ M and D ≤ M − D7 + Dc; afterwards M' = M − D7 (CanInstall).
//   - Without:    installable iff R ≤ M and D ≤ M − R + Dc; afterwards M' = M − R.
//   - X identical applets fit iff M ≥ D7·X and M + Dc − D7·X ≥ D, R for D7 without quotas
//     (MaxInstalls).
//   - Applets selected on X channels overflow iff ΣDi > M + X·Dc (SelectionOverflows).
//
// The comparisons are ≤ throughout. The paper writes < for a single install but ≤ for X applets,
// and its worked example (M = 12, N = 4, Dc = 1, C7 = 25, D7 = 2, R = 1, D = 2 → 5 installs, then
// 2 channels) needs ≤; the design says to use ≤ throughout, which here also covers its "R < M".
// With ≤ everywhere, installing one applet at a time and the closed form agree exactly.
//
// CanInstall, MaxInstalls and MaxSelectedChannels use M, N and Dc; Check also uses NonVolatile.
type Card struct {
	M  int64 // free application memory
	N  int64 // logical channels (the basic channel included)
	Dc int64 // deselect-transient reserve of each channel
	// NonVolatile is the free non-volatile memory, for Check (extCardResource tag 82).
	NonVolatile int64
}

// Applet is an applet in the memory model (see Card). It has quotas when C7 or D7 is non-zero;
// then D7 counts and R is ignored, otherwise R counts. C7 itself enters no rule: it bounds what
// the applet may use later, not what its install takes.
type Applet struct {
	C7 int64 // largest reset-transient quota
	D7 int64 // reset-transient memory reserved at install
	R  int64 // reset-transient memory actually taken, when there are no quotas
	D  int64 // deselect-transient memory needed while selected
}

// HasQuota reports whether the applet states C7/D7 quotas.
func (a Applet) HasQuota() bool { return a.C7 != 0 || a.D7 != 0 }

// take returns the memory an install takes from M, and its name in the rules.
func (a Applet) take() (int64, string) {
	if a.HasQuota() {
		return a.D7, "D7"
	}
	return a.R, "R"
}

// Unlimited is what MaxInstalls returns when an applet that fits takes no memory at install.
const Unlimited = math.MaxInt

// satAdd adds two non-negative numbers, stopping at math.MaxInt64.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// satMul multiplies two non-negative numbers, stopping at math.MaxInt64.
func satMul(a, b int64) int64 {
	if a != 0 && b > math.MaxInt64/a {
		return math.MaxInt64
	}
	return a * b
}

func (c Card) valid() bool { return c.M >= 0 && c.N >= 0 && c.Dc >= 0 && c.NonVolatile >= 0 }

func (a Applet) valid() bool { return a.C7 >= 0 && a.D7 >= 0 && a.R >= 0 && a.D >= 0 }

// install applies the single-install rule. On failure it says which inequality failed, with
// its two sides as needed and available.
func install(card Card, a Applet) (after Card, needed, available int64, reason string) {
	t, name := a.take()
	if t > card.M {
		return card, t, card.M, fmt.Sprintf("%s = %d > M = %d", name, t, card.M)
	}
	if room := satAdd(card.M-t, card.Dc); a.D > room {
		return card, a.D, room, fmt.Sprintf("D = %d > M − %s + Dc = %d − %d + %d = %d",
			a.D, name, card.M, t, card.Dc, room)
	}
	card.M -= t
	return card, 0, 0, ""
}

// CanInstall reports whether applet a can be installed on card, the card after the install,
// and, when it cannot, the rule that fails ("D7 = 3 > M = 2"). Negative values never install.
func CanInstall(card Card, a Applet) (ok bool, after Card, reason string) {
	if !card.valid() || !a.valid() {
		return false, card, "negative memory or channel count"
	}
	after, _, _, reason = install(card, a)
	return reason == "", after, reason
}

// MaxInstalls returns the largest X such that X copies of applet a fit on card: M ≥ D7·X and
// M + Dc − D7·X ≥ D (R for D7 without quotas). It equals the number of successful CanInstall
// calls made one after another. It returns Unlimited if a fits and takes nothing at install
// (D7, or R, is zero), and 0 for negative values.
func MaxInstalls(card Card, a Applet) int {
	if !card.valid() || !a.valid() {
		return 0
	}
	t, _ := a.take()
	room := card.M - a.D // M + Dc − D, without overflow
	if room < 0 {
		room += card.Dc
	} else {
		room = satAdd(room, card.Dc)
	}
	bound := min(card.M, room)
	if bound < 0 {
		return 0
	}
	if t == 0 {
		return Unlimited
	}
	return int(min(bound/t, math.MaxInt))
}

// SelectionOverflows reports whether selecting the given applets at once, one per logical
// channel, overflows the card: ΣDi > M + X·Dc for X = len(selected), or X > N. Sums beyond
// math.MaxInt64 are taken as math.MaxInt64.
func SelectionOverflows(card Card, selected []Applet) bool {
	if !card.valid() || int64(len(selected)) > card.N {
		return true
	}
	var sum int64
	for _, a := range selected {
		if !a.valid() {
			return true
		}
		sum = satAdd(sum, a.D)
	}
	return sum > satAdd(card.M, satMul(int64(len(selected)), card.Dc))
}

// MaxSelectedChannels returns how many of the applets, selected one after another each on its own
// logical channel, the card holds selected at once: the largest X ≤ N such that no prefix of
// applets[:X] overflows (SelectionOverflows). Pass the card as it is after the installs.
func MaxSelectedChannels(card Card, applets []Applet) int {
	for x := 1; x <= len(applets); x++ {
		if SelectionOverflows(card, applets[:x]) {
			return x - 1
		}
	}
	return len(applets)
}

// InsufficientMemoryError is Check's refusal: the profile does not fit the card. It names the
// kind of memory, the instance that does not fit (nil when the package as a whole does not), and
// the two sides of the failed rule. At the ES9+ edge it becomes SGP.22 subject 8.1 (eUICC),
// reason 4.8 (Insufficient Memory).
type InsufficientMemoryError struct {
	Memory      string // "volatile" or "non-volatile"
	InstanceAID []byte // the applet instance, nil for the whole package
	Needed      int64
	Available   int64
	Reason      string // the failed rule with its numbers
}

// Error names the memory, the instance and the two numbers.
func (e *InsufficientMemoryError) Error() string {
	what := "the profile package"
	if e.InstanceAID != nil {
		what = fmt.Sprintf("applet instance %X", e.InstanceAID)
	}
	return fmt.Sprintf("profiles: insufficient %s memory for %s: needs %d bytes, %d available (%s)",
		e.Memory, what, e.Needed, e.Available, e.Reason)
}

// ErrInvalidCard is returned by Check for negative card or applet figures.
var ErrInvalidCard = errors.New("profiles: negative memory or channel count")

// Check decides whether a package with requirements req fits card, in bytes:
//
//   - non-volatile: the package size plus the non-volatile memory its instances reserve (D8)
//     must not exceed card.NonVolatile. The size is a lower bound of what the eUICC stores (its
//     files, keys and load files), not an exact figure;
//   - volatile: the instances, in order, must each pass CanInstall on the card as the previous
//     installs left it.
//
// A refusal is an *InsufficientMemoryError. Simultaneous selection (MaxSelectedChannels) is a
// question for run time and is not checked.
func Check(card Card, req Requirements) error {
	if !card.valid() || req.Size < 0 {
		return ErrInvalidCard
	}
	nv, reserved := req.Size, int64(0)
	for _, ar := range req.Applets {
		if !ar.Applet.valid() || ar.NonVolatileReserved < 0 {
			return ErrInvalidCard
		}
		reserved = satAdd(reserved, ar.NonVolatileReserved)
	}
	if nv = satAdd(nv, reserved); nv > card.NonVolatile {
		return &InsufficientMemoryError{
			Memory:    "non-volatile",
			Needed:    nv,
			Available: card.NonVolatile,
			Reason:    fmt.Sprintf("package %d + reserved D8 %d > free %d", req.Size, reserved, card.NonVolatile),
		}
	}
	c := card
	for _, ar := range req.Applets {
		after, needed, available, reason := install(c, ar.Applet)
		if reason != "" {
			return &InsufficientMemoryError{
				Memory:      "volatile",
				InstanceAID: ar.InstanceAID,
				Needed:      needed,
				Available:   available,
				Reason:      reason,
			}
		}
		c = after
	}
	return nil
}
