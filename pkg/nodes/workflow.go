package nodes

// Workflow is the content of a workflow as clients send it and the engine
// runs it; app-svc adds the record's id, owner, version and timestamps.
type Workflow struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Nodes       []Node `json:"nodes"`
	// Connections is keyed by source node name (n8n's shape).
	Connections map[string]NodeConnections `json:"connections"`
	Settings    map[string]any             `json:"settings,omitempty"`
}

// Node is one step of a workflow. Name is what connections refer to; ID is
// what execution events refer to.
type Node struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Type        string         `json:"type"`
	Subtype     string         `json:"subtype"`
	Parameters  map[string]any `json:"parameters"`
	Credentials map[string]any `json:"credentials,omitempty"`
	Position    *Position      `json:"position,omitempty"`
	Disabled    bool           `json:"disabled,omitempty"`
	// OnError is OnErrorStop (also when empty) or OnErrorContinue.
	OnError     string       `json:"on_error,omitempty"`
	RetryPolicy *RetryPolicy `json:"retry_policy,omitempty"`
}

// What the engine does when a node fails (after its retries).
const (
	OnErrorStop     = "stop"     // fail the execution
	OnErrorContinue = "continue" // pass the error on as the node's output
)

// Position is where the editor draws a node; the engine ignores it.
type Position struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// RetryPolicy retries a failing node. MaxTries counts the first try.
type RetryPolicy struct {
	MaxTries    int     `json:"max_tries"`
	WaitSeconds float64 `json:"wait_seconds"`
}

// Limits of a retry policy, so a node cannot hold an engine for hours.
const (
	MaxRetryTries       = 10
	MaxRetryWaitSeconds = 300
)

// NodeConnections maps a connection type to the node's outputs, each output
// a list of targets. Only ConnectionMain is supported; the map keeps other
// keys (n8n's ai_tool, ai_memory …) so validation can name them instead of
// dropping them silently.
type NodeConnections map[string][][]Connection

// ConnectionMain is the only connection type: data flowing between nodes.
const ConnectionMain = "main"

// Connection is one target of an output: input Index of the node named Node.
type Connection struct {
	Node  string `json:"node"`
	Type  string `json:"type"`
	Index int    `json:"index"`
}

// NodeByName returns the node with that name.
func (w Workflow) NodeByName(name string) (Node, bool) {
	for _, n := range w.Nodes {
		if n.Name == name {
			return n, true
		}
	}
	return Node{}, false
}

// Targets returns the targets of a node's output.
func (w Workflow) Targets(name string, output int) []Connection {
	outs := w.Connections[name][ConnectionMain]
	if output < 0 || output >= len(outs) {
		return nil
	}
	return outs[output]
}
