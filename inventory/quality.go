package inventory

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/smdpp/smdpp/store"
)

// Quality figures, computed from the recorded events of a time range. Each stage of a profile's
// life has a start event and end events; its latency is the time from the last start event of the
// same ICCID to the end event, both within the range:
//
//	download  start: order;    success: downloaded;  failure: cancelled, confirmation-code-locked
//	install   start: download; success: Installed;   failure: Error (errorReason, SGP.22 §5.6.4)
//	enable    start: install;  success: enabled
//	disable   success: disabled
//	delete    success: deleted
//
// The EUM of an event is the first 8 digits of its EID: "89", the country code and the issuer
// identifier of the eUICC manufacturer (GSMA SGP.29 EID definition); "unknown" without an EID.

// Stage names of the quality figures.
const (
	StageDownload = "download"
	StageInstall  = "install"
	StageEnable   = "enable"
	StageDisable  = "disable"
	StageDelete   = "delete"
)

// QualityQuery selects the events of the figures: one operator (all when empty), From ≤ At < To.
type QualityQuery = UsageQuery

// Quality is the quality report of a time range.
type Quality struct {
	OperatorID string    `json:"operator,omitempty"`
	From       time.Time `json:"from,omitzero"`
	To         time.Time `json:"to,omitzero"`
	Stages     []Stage   `json:"stages"`
	// FailuresByReason counts failures per stage and reason, most frequent first.
	FailuresByReason []ReasonCount `json:"failuresByReason"`
	// ByEUM counts attempts and failures of the download and install stages per EUM, most
	// failures first.
	ByEUM []EUMCount `json:"byEum"`
}

// Stage holds the figures of one stage.
type Stage struct {
	Name    string `json:"name"`
	Success int    `json:"success"`
	Failure int    `json:"failure"`
	// Latency is over the successes and failures whose start event is in the range.
	Latency Latency `json:"latency"`
}

// Latency summarises durations, in seconds.
type Latency struct {
	Count int     `json:"count"`
	Mean  float64 `json:"meanSeconds"`
	P50   float64 `json:"p50Seconds"`
	P95   float64 `json:"p95Seconds"`
	Max   float64 `json:"maxSeconds"`
}

// ReasonCount is the number of failures of a stage for one reason.
type ReasonCount struct {
	Stage  string `json:"stage"`
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

// EUMCount is the number of attempts and failures of one EUM's eUICCs.
type EUMCount struct {
	EUM      string `json:"eum"`
	Attempts int    `json:"attempts"`
	Failures int    `json:"failures"`
}

// stageOf maps event kinds to (stage, success).
var stageOf = map[string]struct {
	stage   string
	success bool
}{
	"downloaded":               {StageDownload, true},
	"cancelled":                {StageDownload, false},
	"confirmation-code-locked": {StageDownload, false},
	"Installed":                {StageInstall, true},
	"installed":                {StageInstall, true},
	"Error":                    {StageInstall, false},
	"enabled":                  {StageEnable, true},
	"disabled":                 {StageDisable, true},
	"deleted":                  {StageDelete, true},
}

// startOf names the usage category whose last event starts each stage.
var startOf = map[string]string{StageDownload: UsageOrder, StageInstall: UsageDownload, StageEnable: UsageInstall}

// Quality computes the quality figures of q.
func (s *Service) Quality(ctx context.Context, q QualityQuery) (Quality, error) {
	if err := q.check(); err != nil {
		return Quality{}, err
	}
	out := Quality{OperatorID: q.OperatorID, From: q.From, To: q.To}
	stages := map[string]*Stage{}
	for _, n := range []string{StageDownload, StageInstall, StageEnable, StageDisable, StageDelete} {
		stages[n] = &Stage{Name: n}
	}
	durations := map[string][]time.Duration{}
	last := map[string]map[string]time.Time{} // ICCID → usage category → time of its last event
	reasons := map[[2]string]int{}
	eums := map[string]*EUMCount{}
	err := s.db.ScanEvents(ctx, store.EventFilter{OperatorID: q.OperatorID, Since: q.From, Until: q.To}, func(e store.Event) error {
		if st, ok := stageOf[e.Kind]; ok {
			stage := stages[st.stage]
			if st.success {
				stage.Success++
			} else {
				stage.Failure++
				reasons[[2]string{st.stage, failureReason(e)}]++
			}
			if start, ok := last[e.ICCID][startOf[st.stage]]; ok && startOf[st.stage] != "" {
				durations[st.stage] = append(durations[st.stage], e.At.Sub(start))
			}
			if st.stage == StageDownload || st.stage == StageInstall {
				eum := EUMOf(e.EID)
				c := eums[eum]
				if c == nil {
					c = &EUMCount{EUM: eum}
					eums[eum] = c
				}
				c.Attempts++
				if !st.success {
					c.Failures++
				}
			}
		}
		if c := usageCategories[e.Kind]; c != "" && e.ICCID != "" {
			if last[e.ICCID] == nil {
				last[e.ICCID] = map[string]time.Time{}
			}
			last[e.ICCID][c] = e.At
		}
		return nil
	})
	if err != nil {
		return Quality{}, err
	}
	for _, n := range []string{StageDownload, StageInstall, StageEnable, StageDisable, StageDelete} {
		st := stages[n]
		st.Latency = summarise(durations[n])
		out.Stages = append(out.Stages, *st)
	}
	for k, n := range reasons {
		out.FailuresByReason = append(out.FailuresByReason, ReasonCount{Stage: k[0], Reason: k[1], Count: n})
	}
	slices.SortFunc(out.FailuresByReason, func(a, b ReasonCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Stage, b.Stage), cmp.Compare(a.Reason, b.Reason))
	})
	for _, c := range eums {
		out.ByEUM = append(out.ByEUM, *c)
	}
	slices.SortFunc(out.ByEUM, func(a, b EUMCount) int {
		return cmp.Or(cmp.Compare(b.Failures, a.Failures), cmp.Compare(b.Attempts, a.Attempts), cmp.Compare(a.EUM, b.EUM))
	})
	if out.FailuresByReason == nil {
		out.FailuresByReason = []ReasonCount{}
	}
	if out.ByEUM == nil {
		out.ByEUM = []EUMCount{}
	}
	return out, nil
}

// EUMOf returns the EUM part of an EID, its first 8 digits, or "unknown".
func EUMOf(eid string) string {
	if len(eid) < 8 {
		return "unknown"
	}
	return eid[:8]
}

func summarise(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	slices.Sort(ds)
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	pct := func(p float64) time.Duration {
		i := int(p*float64(len(ds))+0.999999) - 1 // nearest rank
		return ds[max(0, min(i, len(ds)-1))]
	}
	return Latency{Count: len(ds), Mean: (sum / time.Duration(len(ds))).Seconds(), P50: pct(0.50).Seconds(),
		P95: pct(0.95).Seconds(), Max: ds[len(ds)-1].Seconds()}
}

var (
	errorReasonRE  = regexp.MustCompile(`errorReason (\d+)`)
	cancelReasonRE = regexp.MustCompile(`reason (\d+)`)
)

// ErrorReason (SGP.22 §5.6.4 ProfileInstallationResultData errorReason) and CancelSessionReason
// (§5.6.5) names.
var (
	installErrorNames = map[int]string{
		1: "incorrectInputValues", 2: "invalidSignature", 3: "invalidTransactionId", 4: "unsupportedCrtValues",
		5: "unsupportedRemoteOperationType", 6: "unsupportedProfileClass", 7: "scp03tStructureError",
		8: "scp03tSecurityError", 9: "installFailedDueToIccidAlreadyExistsOnEuicc",
		10: "installFailedDueToInsufficientMemoryForProfile", 11: "installFailedDueToInterruption",
		12: "installFailedDueToPEProcessingError", 13: "installFailedDueToIccidMismatch",
		14: "testProfileInstallFailedDueToInvalidNaaKey", 15: "pprNotAllowed", 127: "installFailedDueToUnknownError",
	}
	cancelReasonNames = map[int]string{
		0: "endUserRejection", 1: "postponed", 2: "timeout", 3: "pprNotAllowed", 4: "metadataMismatch",
		5: "loadBppExecutionError", 127: "undefinedReason",
	}
)

// failureReason names the reason of a failure event from its detail, as the download service
// writes it ("bppCommandId 5, errorReason 8", "cancelled with reason 0").
func failureReason(e store.Event) string {
	named := func(re *regexp.Regexp, names map[int]string, prefix string) string {
		m := re.FindStringSubmatch(e.Detail)
		if m == nil {
			return prefix + " (reason not recorded)"
		}
		n, _ := strconv.Atoi(m[1])
		if name, ok := names[n]; ok {
			return fmt.Sprintf("%s %d (%s)", prefix, n, name)
		}
		return fmt.Sprintf("%s %d", prefix, n)
	}
	switch e.Kind {
	case "Error":
		return named(errorReasonRE, installErrorNames, "errorReason")
	case "cancelled":
		return named(cancelReasonRE, cancelReasonNames, "cancelSessionReason")
	}
	return e.Kind
}

// EIDHistory is what the SM-DP+ knows of one eUICC: the profiles it ordered, downloaded,
// installed, enabled, disabled and deleted.
type EIDHistory struct {
	EID      string           `json:"eid"`
	EUM      string           `json:"eum"`
	Profiles []ProfileHistory `json:"profiles"`
}

// ProfileHistory is the history of one profile on one eUICC.
type ProfileHistory struct {
	ICCID      string         `json:"iccid"`
	OperatorID string         `json:"operator"`
	Events     []HistoryEvent `json:"events"`
	// Last is the usage category of the latest event, e.g. "delete" (empty for other events).
	Last string `json:"last"`
}

// HistoryEvent is one event of a ProfileHistory.
type HistoryEvent struct {
	At       time.Time `json:"at"`
	Event    string    `json:"event"`
	Category string    `json:"category,omitempty"`
	Detail   string    `json:"detail,omitempty"`
}

// EIDHistory returns the history of the eUICC eid, limited to one operator's profiles when
// operatorID is not empty, profiles in the order they first appear.
func (s *Service) EIDHistory(ctx context.Context, eid, operatorID string) (EIDHistory, error) {
	if eid == "" {
		return EIDHistory{}, fmt.Errorf("inventory: EID history: empty EID")
	}
	h := EIDHistory{EID: eid, EUM: EUMOf(eid), Profiles: []ProfileHistory{}}
	index := map[string]int{}
	err := s.db.ScanEvents(ctx, store.EventFilter{EID: eid, OperatorID: operatorID}, func(e store.Event) error {
		i, ok := index[e.ICCID]
		if !ok {
			i = len(h.Profiles)
			index[e.ICCID] = i
			h.Profiles = append(h.Profiles, ProfileHistory{ICCID: e.ICCID, OperatorID: e.OperatorID})
		}
		p := &h.Profiles[i]
		c := usageCategories[e.Kind]
		p.Events = append(p.Events, HistoryEvent{At: e.At, Event: e.Kind, Category: c, Detail: e.Detail})
		p.Last = c
		if p.OperatorID == "" {
			p.OperatorID = e.OperatorID
		}
		return nil
	})
	return h, err
}
