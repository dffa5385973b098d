package nodes

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/wfagent/gateway/pkg/apperr"
)

// Limits that make huge or hostile workflows fail cleanly and cheaply.
const (
	MaxNodes             = 200
	MaxConnections       = 1000 // outputs plus targets, over all nodes
	MaxNameLength        = 128  // characters, workflow and node names and node ids
	MaxDescriptionLength = 4096 // characters
	MaxParametersBytes   = 64 << 10
	MaxParametersDepth   = 32 // nesting of objects and arrays inside parameters
	MaxProblems          = 100
)

// ErrInvalidWorkflow is what every *ValidationError matches with errors.Is.
var ErrInvalidWorkflow = errors.New("invalid workflow")

// Problem is one reason a workflow is invalid. Field is a path into the
// workflow's JSON (nodes[1].parameters.seconds, connections.Start.main[0][0].node);
// NodeID and NodeName name the node it concerns, when there is one.
type Problem struct {
	NodeID   string `json:"node_id,omitempty"`
	NodeName string `json:"node_name,omitempty"`
	Field    string `json:"field"`
	Message  string `json:"message"`
}

// ValidationError lists every problem found, in workflow order.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString(ErrInvalidWorkflow.Error())
	for i, p := range e.Problems {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(e.Problems)-i)
			break
		}
		sep := ": "
		if i > 0 {
			sep = "; "
		}
		b.WriteString(sep + p.Field + ": " + p.Message)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrInvalidWorkflow) hold.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidWorkflow }

// FieldErrors converts the problems to the details of a 400 validation_error.
// The node's name leads the message because FieldError has no place for it.
func (e *ValidationError) FieldErrors() []apperr.FieldError {
	out := make([]apperr.FieldError, len(e.Problems))
	for i, p := range e.Problems {
		msg := p.Message
		if p.NodeName != "" {
			msg = fmt.Sprintf("node %q: %s", p.NodeName, msg)
		}
		out[i] = apperr.FieldError{Field: p.Field, Message: msg}
	}
	return out
}

// Validate checks a workflow against the catalogue: names, known types,
// parameters against their schemas, connections that resolve to existing
// ports, a DAG, at least one enabled trigger, and the limits above. It
// returns nil or a *ValidationError (anything else means the catalogue itself
// is broken).
func Validate(w Workflow) error { return validate(w, false) }

// ValidateExecutable is Validate plus: every node is of a type this
// platform's engine can run. The execute endpoint and the engine use it.
func ValidateExecutable(w Workflow) error { return validate(w, true) }

func validate(w Workflow, executable bool) error {
	if loadErr != nil {
		return fmt.Errorf("nodes: catalogue: %w", loadErr)
	}
	c := &checker{}
	c.workflow(w)
	if len(w.Nodes) > 0 && len(w.Nodes) <= MaxNodes {
		ids := make(map[string]int, len(w.Nodes))
		names := make(map[string]int, len(w.Nodes))
		for i, n := range w.Nodes {
			c.node(i, n, executable)
			c.unique(i, n, n.ID, ".id", ids)
			c.unique(i, n, n.Name, ".name", names)
		}
		c.trigger(w.Nodes)
		g := buildGraph(w, c.add)
		g.cycles(w.Nodes, c.add)
	}
	return c.err()
}

// checker collects problems, at most MaxProblems of them.
type checker struct {
	problems []Problem
	dropped  int
}

func (c *checker) add(p Problem) {
	if len(c.problems) >= MaxProblems {
		c.dropped++
		return
	}
	c.problems = append(c.problems, p)
}

func (c *checker) addNode(i int, n Node, field, msg string) {
	c.add(Problem{NodeID: n.ID, NodeName: n.Name, Field: nodeField(i) + field, Message: msg})
}

func (c *checker) err() error {
	if len(c.problems) == 0 {
		return nil
	}
	if c.dropped > 0 {
		c.problems = append(c.problems, Problem{Field: "nodes", Message: fmt.Sprintf("%d more problems not shown", c.dropped)})
	}
	return &ValidationError{Problems: c.problems}
}

func (c *checker) workflow(w Workflow) {
	if msg := nameProblem(w.Name); msg != "" {
		c.add(Problem{Field: "name", Message: msg})
	}
	if utf8.RuneCountInString(w.Description) > MaxDescriptionLength {
		c.add(Problem{Field: "description", Message: fmt.Sprintf("must be at most %d characters", MaxDescriptionLength)})
	}
	switch {
	case len(w.Nodes) == 0:
		c.add(Problem{Field: "nodes", Message: "a workflow needs at least one node"})
	case len(w.Nodes) > MaxNodes:
		c.add(Problem{Field: "nodes", Message: fmt.Sprintf("at most %d nodes are allowed, got %d", MaxNodes, len(w.Nodes))})
	}
	if msg := boundedJSON(w.Settings); msg != "" {
		c.add(Problem{Field: "settings", Message: msg})
	}
}

func nameProblem(name string) string {
	switch {
	case strings.TrimSpace(name) == "":
		return "is required"
	case utf8.RuneCountInString(name) > MaxNameLength:
		return fmt.Sprintf("must be at most %d characters", MaxNameLength)
	}
	return ""
}

func (c *checker) node(i int, n Node, executable bool) {
	if msg := nameProblem(n.ID); msg != "" {
		c.addNode(i, n, ".id", msg)
	}
	if msg := nameProblem(n.Name); msg != "" {
		c.addNode(i, n, ".name", msg)
	}
	switch n.OnError {
	case "", OnErrorStop, OnErrorContinue:
	default:
		c.addNode(i, n, ".on_error", fmt.Sprintf("must be %q or %q", OnErrorStop, OnErrorContinue))
	}
	if r := n.RetryPolicy; r != nil {
		if r.MaxTries < 1 || r.MaxTries > MaxRetryTries {
			c.addNode(i, n, ".retry_policy.max_tries", fmt.Sprintf("must be between 1 and %d", MaxRetryTries))
		}
		if !(r.WaitSeconds >= 0 && r.WaitSeconds <= MaxRetryWaitSeconds) { // also refuses NaN
			c.addNode(i, n, ".retry_policy.wait_seconds", fmt.Sprintf("must be between 0 and %d", MaxRetryWaitSeconds))
		}
	}
	spec, ok := c.spec(i, n)
	if ok && executable && !spec.Executable {
		c.addNode(i, n, ".subtype", fmt.Sprintf("%s nodes cannot be executed by this platform's engine", spec.Key()))
	}
	if msg := boundedJSON(n.Credentials); msg != "" {
		c.addNode(i, n, ".credentials", msg)
	} else if ok {
		for _, k := range sortedKeys(n.Credentials) {
			if !slices.Contains(spec.CredentialFields, k) {
				c.addNode(i, n, ".credentials"+keyField(k), "unknown credential field; "+unknownMessage("credential field", spec.CredentialFields))
			}
		}
	}
	if msg := boundedJSON(n.Parameters); msg != "" {
		c.addNode(i, n, ".parameters", msg)
		return
	}
	if ok {
		c.parameters(i, n, spec)
	}
}

// spec finds the node's spec or reports which of type and subtype is wrong.
func (c *checker) spec(i int, n Node) (Spec, bool) {
	info, ok := knownType(n.Type)
	if !ok {
		all := make([]string, len(types))
		for j, t := range types {
			all[j] = t.Type
		}
		c.addNode(i, n, ".type", fmt.Sprintf("unknown node type %q; %s", n.Type, unknownMessage("type", all)))
		return Spec{}, false
	}
	spec, ok := Lookup(n.Type, n.Subtype)
	if !ok {
		c.addNode(i, n, ".subtype", fmt.Sprintf("unknown subtype %q of %s; %s", n.Subtype, n.Type, unknownMessage("subtype", info.Subtypes)))
	}
	return spec, ok
}

func unknownMessage(what string, allowed []string) string {
	if len(allowed) == 0 {
		return "no " + what + " is expected here"
	}
	return "expected one of " + strings.Join(allowed, ", ")
}

// unique reports a node id or name that an earlier node already uses.
func (c *checker) unique(i int, n Node, value, field string, seen map[string]int) {
	if value == "" {
		return // reported as missing
	}
	if j, dup := seen[value]; dup {
		c.addNode(i, n, field, fmt.Sprintf("duplicate node %s %q, also used by %s", field[1:], value, nodeField(j)))
		return
	}
	seen[value] = i
}

func (c *checker) trigger(nodes []Node) {
	for _, n := range nodes {
		if n.Type == TypeTrigger && !n.Disabled {
			return
		}
	}
	c.add(Problem{Field: "nodes", Message: "a workflow needs at least one enabled trigger node (" + TypeTrigger + ")"})
}

func (c *checker) parameters(i int, n Node, spec Spec) {
	params := n.Parameters
	if params == nil {
		params = map[string]any{} // omitted parameters are empty ones
	}
	err := spec.schema.Validate(params)
	if err == nil {
		return
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		c.addNode(i, n, ".parameters", err.Error())
		return
	}
	base := nodeField(i) + ".parameters"
	schemaProblems(ve, func(loc []string, msg string) {
		c.add(Problem{NodeID: n.ID, NodeName: n.Name, Field: base + instanceField(params, loc), Message: msg})
	})
}

// boundedJSON walks a parameters-like value without recursion and says why
// it is too deep or too large; "" when it is fine. Sizes count strings and
// keys by their length and every other value as one byte: a lower bound of
// the JSON encoding, cheap to keep while walking.
func boundedJSON(v map[string]any) string {
	type item struct {
		v     any
		depth int
	}
	stack := []item{{v, 1}}
	size := 0
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if it.depth > MaxParametersDepth {
			return fmt.Sprintf("nested deeper than %d levels", MaxParametersDepth)
		}
		size++
		switch x := it.v.(type) {
		case map[string]any:
			for k, e := range x {
				size += len(k) + 3
				stack = append(stack, item{e, it.depth + 1})
			}
		case []any:
			for _, e := range x {
				stack = append(stack, item{e, it.depth + 1})
			}
		case string:
			size += len(x) + 2
		}
		if size > MaxParametersBytes {
			return fmt.Sprintf("larger than %d bytes", MaxParametersBytes)
		}
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
