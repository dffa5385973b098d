package nodes

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzValidate feeds arbitrary JSON through what app-svc does with a request
// body. Its seeds (testdata/fuzz/FuzzValidate: the hello pipeline and some
// invalid workflows) run on every go test; go test -fuzz=FuzzValidate explores.
func FuzzValidate(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var w Workflow
		if json.Unmarshal(data, &w) != nil {
			return
		}
		err := Validate(w)
		execErr := ValidateExecutable(w)
		order, orderErr := TopologicalOrder(w)

		var ve *ValidationError
		if err != nil {
			if !errors.As(err, &ve) {
				t.Fatalf("Validate returned %T: %v", err, err)
			}
			if len(ve.Problems) == 0 || len(ve.FieldErrors()) != len(ve.Problems) {
				t.Fatalf("empty or unconvertible problems: %v", err)
			}
			for _, p := range ve.Problems {
				if p.Field == "" || p.Message == "" {
					t.Fatalf("problem without field or message: %+v", p)
				}
			}
			if execErr == nil {
				t.Fatalf("ValidateExecutable accepted what Validate refused: %v", err)
			}
			return
		}
		if orderErr != nil {
			t.Fatalf("valid workflow has no order: %v", orderErr)
		}
		seen := map[string]bool{}
		for _, level := range order {
			for _, name := range level {
				if seen[name] {
					t.Fatalf("%q ordered twice", name)
				}
				seen[name] = true
			}
		}
		if len(seen) != len(w.Nodes) {
			t.Fatalf("order has %d nodes, workflow %d", len(seen), len(w.Nodes))
		}
	})
}
