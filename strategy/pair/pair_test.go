package pair

import (
	"errors"
	"regexp"
	"testing"
)

// legal is the state machine of DESIGN.md written out independently of the table in pair.go.
var legal = map[[2]State]bool{
	{Pending, Opening}: true, {Pending, Closed}: true, {Pending, Halted}: true,
	{Opening, Opening}: true, {Opening, Open}: true, {Opening, Repairing}: true, {Opening, Closed}: true, {Opening, Halted}: true,
	{Open, Closing}: true, {Open, Repairing}: true, {Open, Halted}: true,
	{Closing, Closing}: true, {Closing, Closed}: true, {Closing, Open}: true, {Closing, Repairing}: true, {Closing, Halted}: true,
	{Repairing, Repairing}: true, {Repairing, Open}: true, {Repairing, Closing}: true, {Repairing, Closed}: true, {Repairing, Halted}: true,
	{Halted, Closing}: true, {Halted, Open}: true, {Halted, Repairing}: true, {Halted, Closed}: true,
}

func TestEveryTransition(t *testing.T) {
	for _, from := range AllStates() {
		for _, to := range AllStates() {
			err := CheckTransition(from, to)
			if legal[[2]State{from, to}] {
				if err != nil {
					t.Errorf("%s → %s should be legal: %v", from, to, err)
				}
				continue
			}
			var ill *ErrIllegal
			if !errors.As(err, &ill) || ill.From != from || ill.To != to {
				t.Errorf("%s → %s should be illegal, got %v", from, to, err)
			}
		}
	}
	if len(Transitions(Closed)) != 0 {
		t.Fatal("closed is terminal")
	}
	if err := CheckTransition("bogus", Open); err == nil {
		t.Fatal("an unknown state has no transitions")
	}
}

func TestClientOrderIDs(t *testing.T) {
	re := regexp.MustCompile(`^[.A-Z:/a-z0-9_-]{1,36}$`)
	seen := map[string]bool{}
	for pairID := int64(1); pairID <= 3; pairID++ {
		for attempt := 1; attempt <= 3; attempt++ {
			for _, leg := range []Leg{LegSpot, LegPerp} {
				id := ClientOrderID("ab12cd", pairID, attempt, leg)
				if !re.MatchString(id) || seen[id] {
					t.Fatalf("id %q invalid or repeated", id)
				}
				seen[id] = true
			}
		}
	}
	// Long ids stay within Binance's 36 characters.
	if id := ClientOrderID("zzzzzzzzzz", 9_223_372_036_854_775_807, 999999, LegPerp); len(id) > 36 {
		t.Fatalf("id %q is longer than 36", id)
	}
	if got := ClientOrderID("ab12cd", 42, 3, LegSpot); got != "ab12cd-16-3S" {
		t.Fatal("id format changed")
	}
}
