package executor

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/wfagent/gateway/pkg/nodes"
	"github.com/wfagent/gateway/pkg/secrets"
)

// openCredentials returns the node's credentials in clear, for this run of
// the node only. app-svc sends each one sealed under ENCRYPTION_KEY and
// bound to its workflow, node and field ({"sealed": "v1.…"},
// pkg/secrets.Wrap); a value in clear (a request published before
// credentials travelled sealed) is used as given. The error names the
// field, never a value.
func (r *Runner) openCredentials(workflowID string, n nodes.Node) (map[string]any, error) {
	if len(n.Credentials) == 0 {
		return n.Credentials, nil
	}
	out := make(map[string]any, len(n.Credentials))
	for _, field := range slices.Sorted(maps.Keys(n.Credentials)) {
		v := n.Credentials[field]
		sealed, ok := secrets.Unwrap(v)
		if !ok {
			out[field] = v
			continue
		}
		if r.o.Sealer == nil {
			return nil, fmt.Errorf("credential %q is sealed and this engine has no ENCRYPTION_KEY to open it", field)
		}
		plain, err := r.o.Sealer.Open(sealed, secrets.CredentialAAD(workflowID, n.ID, field))
		if err != nil { // secrets.ErrUnreadable: its text holds no value either
			return nil, fmt.Errorf("credential %q cannot be opened: it was sealed under another ENCRYPTION_KEY or for another workflow, node or field (save the credential again)", field)
		}
		var clear any
		if err := json.Unmarshal(plain, &clear); err != nil {
			return nil, fmt.Errorf("credential %q: the opened value is not JSON", field)
		}
		out[field] = clear
	}
	return out, nil
}
