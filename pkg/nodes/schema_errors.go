package nodes

import (
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// This file turns schema errors and JSON locations into Problem fields and
// messages a form (or an LLM) can act on.

// printer renders schema errors; English is what the API speaks.
var printer = message.NewPrinter(language.English)

// schemaProblems reports the leaves of a schema error tree, one per field.
// The tree is as deep as our schemas, not as the instance, so recursion is fine.
func schemaProblems(e *jsonschema.ValidationError, report func(loc []string, msg string)) {
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		for _, m := range k.Missing {
			report(append(slices.Clip(e.InstanceLocation), m), "is required")
		}
		return
	case *kind.AdditionalProperties:
		for _, p := range k.Properties {
			report(append(slices.Clip(e.InstanceLocation), p), "is not a parameter of this node")
		}
		return
	case *kind.AnyOf, *kind.OneOf:
		// The branches' own errors read as contradictions ("must be a uri",
		// "must contain {{"), so say once that none of them matched.
		report(e.InstanceLocation, alternativesMessage(e))
		return
	}
	if len(e.Causes) == 0 {
		report(e.InstanceLocation, kindMessage(e.ErrorKind))
		return
	}
	for _, cause := range e.Causes {
		schemaProblems(cause, report)
	}
}

func alternativesMessage(e *jsonschema.ValidationError) string {
	var missing, other []string
	var leaves func(*jsonschema.ValidationError)
	leaves = func(e *jsonschema.ValidationError) {
		if r, ok := e.ErrorKind.(*kind.Required); ok {
			missing = append(missing, r.Missing...)
			return
		}
		if len(e.Causes) == 0 {
			other = append(other, kindMessage(e.ErrorKind))
		}
		for _, c := range e.Causes {
			leaves(c)
		}
	}
	leaves(e)
	if len(other) == 0 && len(missing) > 0 {
		return "needs at least one of " + strings.Join(missing, ", ")
	}
	return "matches none of the allowed forms: " + strings.Join(other, "; or ")
}

// kindMessage words the commonest schema errors as a form would; the
// library's wording ("exclusiveMinimum: got -1, want 0") serves the rest.
func kindMessage(k jsonschema.ErrorKind) string {
	switch k := k.(type) {
	case *kind.Type:
		return fmt.Sprintf("must be of type %s, got %s", strings.Join(k.Want, " or "), k.Got)
	case *kind.Minimum:
		return fmt.Sprintf("must be >= %s, got %s", ratString(k.Want), ratString(k.Got))
	case *kind.Maximum:
		return fmt.Sprintf("must be <= %s, got %s", ratString(k.Want), ratString(k.Got))
	case *kind.ExclusiveMinimum:
		return fmt.Sprintf("must be > %s, got %s", ratString(k.Want), ratString(k.Got))
	case *kind.ExclusiveMaximum:
		return fmt.Sprintf("must be < %s, got %s", ratString(k.Want), ratString(k.Got))
	}
	return k.LocalizedString(printer)
}

func ratString(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func nodeField(i int) string { return "nodes[" + strconv.Itoa(i) + "]" }

// instanceField turns a JSON pointer's tokens into .key and [index] steps,
// telling indexes from keys by the value itself.
func instanceField(v any, loc []string) string {
	var b strings.Builder
	for _, tok := range loc {
		switch x := v.(type) {
		case []any:
			b.WriteString("[" + tok + "]")
			if i, err := strconv.Atoi(tok); err == nil && i >= 0 && i < len(x) {
				v = x[i]
			} else {
				v = nil
			}
		case map[string]any:
			b.WriteString(keyField(tok))
			v = x[tok]
		default:
			b.WriteString(keyField(tok))
			v = nil
		}
	}
	return b.String()
}

// keyField is .key for identifier-like keys and ["key"] for any other.
func keyField(k string) string {
	ident := k != ""
	for i, r := range k {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			ident = false
			break
		}
	}
	if ident {
		return "." + k
	}
	return "[" + strconv.Quote(k) + "]"
}
