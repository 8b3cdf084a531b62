package profiles_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"testing/quick"

	"github.com/smdpp/smdpp/profiles"
)

// TestWorkedExample is the worked example of the design (DESIGN.md, "Memory-aware eligibility"),
// verbatim: M = 12 KB, N = 4, Dc = 1 KB, applet C7=25, D7=2, R=1, D=2 (KB) → at most 5 installs;
// after 5, only 2 channels can hold it selected at once. It runs in KB and again in bytes.
func TestWorkedExample(t *testing.T) {
	for _, unit := range []int64{1, 1024} {
		card := profiles.Card{M: 12 * unit, N: 4, Dc: 1 * unit}
		applet := profiles.Applet{C7: 25 * unit, D7: 2 * unit, R: 1 * unit, D: 2 * unit}

		if got := profiles.MaxInstalls(card, applet); got != 5 {
			t.Errorf("unit %d: MaxInstalls = %d, want 5", unit, got)
		}
		c := card
		for i := 1; i <= 5; i++ {
			ok, after, reason := profiles.CanInstall(c, applet)
			if !ok {
				t.Fatalf("unit %d: install %d refused: %s", unit, i, reason)
			}
			if after.M != c.M-2*unit || after.N != 4 || after.Dc != unit {
				t.Fatalf("unit %d: install %d left %+v", unit, i, after)
			}
			c = after
		}
		if c.M != 2*unit {
			t.Errorf("unit %d: M after 5 installs = %d, want 2 KB", unit, c.M)
		}
		ok, after, reason := profiles.CanInstall(c, applet)
		if ok || after != c {
			t.Errorf("unit %d: a sixth install was accepted", unit)
		}
		// The sixth fails on D ≤ M − D7 + Dc: 2 ≤ 2 − 2 + 1 is false; D7 ≤ M still holds.
		if !strings.HasPrefix(reason, "D = ") {
			t.Errorf("unit %d: sixth install refused for %q, want the D rule", unit, reason)
		}

		five := slices.Repeat([]profiles.Applet{applet}, 5)
		if got := profiles.MaxSelectedChannels(c, five); got != 2 {
			t.Errorf("unit %d: MaxSelectedChannels = %d, want 2", unit, got)
		}
		if profiles.SelectionOverflows(c, five[:2]) || !profiles.SelectionOverflows(c, five[:3]) {
			t.Errorf("unit %d: 2 selected should fit and 3 overflow (ΣD = 6 > M + 3·Dc = 5)", unit)
		}
	}
}

func TestCanInstall(t *testing.T) {
	tests := []struct {
		name  string
		card  profiles.Card
		a     profiles.Applet
		ok    bool
		after int64 // M after the install
		max   int
	}{
		// With quotas: D7 ≤ M and D ≤ M − D7 + Dc.
		{"D7 equals M", profiles.Card{M: 4, N: 1, Dc: 0}, profiles.Applet{D7: 4}, true, 0, 1},
		{"D7 above M", profiles.Card{M: 4, N: 1, Dc: 9}, profiles.Applet{D7: 5}, false, 4, 0},
		{"D equals M − D7 + Dc", profiles.Card{M: 4, N: 1, Dc: 1}, profiles.Applet{D7: 2, D: 3}, true, 2, 1},
		{"D one above", profiles.Card{M: 4, N: 1, Dc: 1}, profiles.Applet{D7: 2, D: 4}, false, 4, 0},
		{"C7 alone", profiles.Card{M: 0, N: 1, Dc: 1}, profiles.Applet{C7: 8, R: 5, D: 1}, true, 0, profiles.Unlimited},
		{"quotas ignore R", profiles.Card{M: 3, N: 1}, profiles.Applet{C7: 8, D7: 3, R: 100}, true, 0, 1},
		// Without quotas: R ≤ M and D ≤ M − R + Dc.
		{"R equals M", profiles.Card{M: 3, N: 1, Dc: 0}, profiles.Applet{R: 3}, true, 0, 1},
		{"R above M", profiles.Card{M: 3, N: 1, Dc: 5}, profiles.Applet{R: 4}, false, 3, 0},
		{"R: D equals M − R + Dc", profiles.Card{M: 5, N: 1, Dc: 2}, profiles.Applet{R: 1, D: 6}, true, 4, 1},
		{"R: D one above", profiles.Card{M: 5, N: 1, Dc: 2}, profiles.Applet{R: 1, D: 7}, false, 5, 0},
		// Zero memory.
		{"zero memory, zero applet", profiles.Card{}, profiles.Applet{}, true, 0, profiles.Unlimited},
		{"zero memory, D within Dc", profiles.Card{Dc: 2}, profiles.Applet{D: 2}, true, 0, profiles.Unlimited},
		{"zero memory, D above Dc", profiles.Card{Dc: 2}, profiles.Applet{D: 3}, false, 0, 0},
		{"zero memory, D7 of one", profiles.Card{Dc: 2}, profiles.Applet{D7: 1}, false, 0, 0},
		// N does not enter the install rule: with N = 0 an applet installs but is never selectable.
		{"N = 0", profiles.Card{M: 4, N: 0, Dc: 1}, profiles.Applet{D7: 1, D: 1}, true, 3, 4},
		// Negative figures never install.
		{"negative M", profiles.Card{M: -1}, profiles.Applet{}, false, -1, 0},
		{"negative D", profiles.Card{M: 4}, profiles.Applet{D: -1}, false, 4, 0},
		// Saturation instead of overflow.
		{"huge Dc", profiles.Card{M: 1, Dc: math.MaxInt64}, profiles.Applet{R: 1, D: math.MaxInt64}, true, 0, 1},
		{"huge M", profiles.Card{M: math.MaxInt64, Dc: math.MaxInt64}, profiles.Applet{R: 1}, true, math.MaxInt64 - 1, math.MaxInt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, after, reason := profiles.CanInstall(tc.card, tc.a)
			if ok != tc.ok || after.M != tc.after {
				t.Errorf("CanInstall = %v, M' = %d (%s); want %v, %d", ok, after.M, reason, tc.ok, tc.after)
			}
			if ok != (reason == "") {
				t.Errorf("ok %v with reason %q", ok, reason)
			}
			if got := profiles.MaxInstalls(tc.card, tc.a); got != tc.max {
				t.Errorf("MaxInstalls = %d, want %d", got, tc.max)
			}
		})
	}
}

func TestMaxSelectedChannels(t *testing.T) {
	tests := []struct {
		name    string
		card    profiles.Card
		applets []profiles.Applet
		want    int
	}{
		{"no channels", profiles.Card{M: 100, N: 0, Dc: 1}, []profiles.Applet{{D: 1}}, 0},
		{"no applets", profiles.Card{M: 100, N: 4, Dc: 1}, nil, 0},
		{"limited by N", profiles.Card{M: 100, N: 2, Dc: 1}, []profiles.Applet{{D: 1}, {D: 1}, {D: 1}}, 2},
		{"exactly M + X·Dc", profiles.Card{M: 3, N: 4, Dc: 1}, []profiles.Applet{{D: 2}, {D: 2}, {D: 2}}, 3},
		{"one over", profiles.Card{M: 2, N: 4, Dc: 1}, []profiles.Applet{{D: 2}, {D: 2}, {D: 2}}, 2},
		{"zero memory, D within Dc", profiles.Card{M: 0, N: 3, Dc: 2}, []profiles.Applet{{D: 2}, {D: 2}, {D: 2}}, 3},
		{"zero memory and reserve", profiles.Card{N: 3}, []profiles.Applet{{D: 1}}, 0},
		{"stops at the first overflow", profiles.Card{M: 0, N: 4, Dc: 1}, []profiles.Applet{{D: 2}, {D: 0}}, 0},
		{"negative D", profiles.Card{M: 9, N: 4, Dc: 1}, []profiles.Applet{{D: 1}, {D: -1}}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := profiles.MaxSelectedChannels(tc.card, tc.applets); got != tc.want {
				t.Errorf("MaxSelectedChannels = %d, want %d", got, tc.want)
			}
		})
	}
}

// smallCase is a card and an applet with figures small enough for installs to be counted one by
// one.
type smallCase struct {
	Card   profiles.Card
	Applet profiles.Applet
}

// newSmallCase draws a smallCase; each applet figure is zero a third of the time, so that
// quota-less applets and zero-size installs come up often.
func newSmallCase(r *rand.Rand) smallCase {
	n := func(k int64) int64 { return r.Int64N(k) }
	return smallCase{
		Card:   profiles.Card{M: n(2000), N: n(8), Dc: n(64)},
		Applet: profiles.Applet{C7: n(3) * n(100), D7: n(3) * n(100), R: n(3) * n(100), D: n(3) * n(100)},
	}
}

// TestInstallOneByOne checks that installing one applet after another with CanInstall stops
// exactly at MaxInstalls, and that a refused install leaves the card unchanged.
func TestInstallOneByOne(t *testing.T) {
	const limit = 10000
	check := func(c smallCase) bool {
		want := profiles.MaxInstalls(c.Card, c.Applet)
		card := c.Card
		got := 0
		for got < limit {
			ok, after, _ := profiles.CanInstall(card, c.Applet)
			if !ok {
				if after != card {
					return false
				}
				break
			}
			card, got = after, got+1
		}
		if want >= limit { // Unlimited included
			return got == limit
		}
		return got == want
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		c := newSmallCase(r)
		if !check(c) {
			t.Fatalf("card %+v applet %+v: MaxInstalls %d disagrees with installing one by one",
				c.Card, c.Applet, profiles.MaxInstalls(c.Card, c.Applet))
		}
	}
	// And through testing/quick with its own generator.
	if err := quick.Check(func(m, dc, d7, r, d uint16, quota bool) bool {
		a := profiles.Applet{R: int64(r % 512), D: int64(d % 512)}
		if quota {
			a.C7, a.D7 = 1, int64(d7%512)
		}
		return check(smallCase{Card: profiles.Card{M: int64(m), N: 4, Dc: int64(dc % 256)}, Applet: a})
	}, &quick.Config{MaxCount: 5000}); err != nil {
		t.Error(err)
	}
}

// TestSelectionPrefix checks MaxSelectedChannels against SelectionOverflows on random input: every
// prefix up to the answer fits, and the next one overflows or there is none.
func TestSelectionPrefix(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		card := profiles.Card{M: r.Int64N(50), N: r.Int64N(6), Dc: r.Int64N(10)}
		applets := make([]profiles.Applet, r.IntN(8))
		for i := range applets {
			applets[i].D = r.Int64N(20)
		}
		x := profiles.MaxSelectedChannels(card, applets)
		for k := 1; k <= x; k++ {
			if profiles.SelectionOverflows(card, applets[:k]) {
				t.Fatalf("%+v %v: prefix %d overflows but MaxSelectedChannels = %d", card, applets, k, x)
			}
		}
		if x < len(applets) && !profiles.SelectionOverflows(card, applets[:x+1]) {
			t.Fatalf("%+v %v: MaxSelectedChannels = %d but %d fit", card, applets, x, x+1)
		}
	}
}
