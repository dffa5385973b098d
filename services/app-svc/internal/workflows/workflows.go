// Package workflows holds app-svc's rules for a workflow on its way into
// and out of the database: validation against the node catalogue, partial
// updates, and node credentials, which are sealed at rest (AES-GCM under
// ENCRYPTION_KEY), kept apart from the nodes, and never shown again: a
// response carries {"configured": true} in place of each value, and a
// client that sends that marker back keeps the stored value.
package workflows

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/google/uuid"

	"github.com/wfagent/gateway/pkg/nodes"
	"github.com/wfagent/gateway/pkg/secrets"
)

// Credentials are a workflow's sealed credentials: node id → field →
// sealed value (the workflows.credentials column).
type Credentials map[string]map[string]string

// Record is a workflow's content as stored: JSON documents, the nodes
// without their credentials, and the sealed credentials.
type Record struct {
	Name        string
	Description string
	Nodes       []byte
	Connections []byte
	Settings    []byte
	Credentials []byte
}

// Patch is a partial update: fields left nil keep their value. nodes and
// connections, when sent, replace the whole list or map.
type Patch struct {
	Name        *string                           `json:"name"`
	Description *string                           `json:"description"`
	Nodes       *[]nodes.Node                     `json:"nodes"`
	Connections *map[string]nodes.NodeConnections `json:"connections"`
	Settings    *map[string]any                   `json:"settings"`
	// Version is the version the client last read (optimistic
	// concurrency); If-Match may carry it instead.
	Version *int `json:"version"`
}

// Apply returns w with the patch's fields set.
func (p Patch) Apply(w nodes.Workflow) nodes.Workflow {
	if p.Name != nil {
		w.Name = *p.Name
	}
	if p.Description != nil {
		w.Description = *p.Description
	}
	if p.Nodes != nil {
		w.Nodes = *p.Nodes
	}
	if p.Connections != nil {
		w.Connections = *p.Connections
	}
	if p.Settings != nil {
		w.Settings = *p.Settings
	}
	return w
}

// Configured is what a response shows in place of a stored credential.
func Configured() map[string]any { return map[string]any{"configured": true} }

func isConfigured(v any) bool {
	m, ok := v.(map[string]any)
	return ok && len(m) == 1 && m["configured"] == true
}

// Codec turns workflows into records and back.
type Codec struct{ sealer *secrets.Sealer }

// NewCodec seals credentials with sealer.
func NewCodec(sealer *secrets.Sealer) *Codec { return &Codec{sealer: sealer} }

// Seal validates w (nodes.Validate) and returns what to store for the
// workflow id. Credentials sent as the Configured marker keep the value in
// prev (the stored credentials of the same node id); other values are
// sealed anew; fields left out are dropped. The error is a
// *nodes.ValidationError for anything the client can fix.
func (c *Codec) Seal(id uuid.UUID, w nodes.Workflow, prev Credentials) (Record, error) {
	if err := nodes.Validate(w); err != nil {
		return Record{}, err
	}
	sealed := Credentials{}
	var problems []nodes.Problem
	stripped := make([]nodes.Node, len(w.Nodes))
	for i, n := range w.Nodes {
		for _, field := range slices.Sorted(maps.Keys(n.Credentials)) {
			v := n.Credentials[field]
			var s string
			if isConfigured(v) {
				kept, ok := prev[n.ID][field]
				if !ok {
					problems = append(problems, nodes.Problem{NodeID: n.ID, NodeName: n.Name,
						Field:   "nodes[" + strconv.Itoa(i) + "].credentials." + field,
						Message: `{"configured": true} keeps a stored credential, but this node has none stored under this field; send the value`})
					continue
				}
				s = kept
			} else {
				plain, err := json.Marshal(v)
				if err != nil {
					return Record{}, err
				}
				if s, err = c.sealer.Seal(plain, aad(id, n.ID, field)); err != nil {
					return Record{}, err
				}
			}
			if sealed[n.ID] == nil {
				sealed[n.ID] = map[string]string{}
			}
			sealed[n.ID][field] = s
		}
		n.Credentials = nil
		stripped[i] = n
	}
	if len(problems) > 0 {
		return Record{}, &nodes.ValidationError{Problems: problems}
	}
	conns := w.Connections
	if conns == nil {
		conns = map[string]nodes.NodeConnections{}
	}
	settings := w.Settings
	if settings == nil {
		settings = map[string]any{}
	}
	rec := Record{Name: w.Name, Description: w.Description}
	var err error
	for _, f := range []struct {
		dst *[]byte
		v   any
	}{{&rec.Nodes, stripped}, {&rec.Connections, conns}, {&rec.Settings, settings}, {&rec.Credentials, sealed}} {
		if *f.dst, err = json.Marshal(f.v); err != nil {
			return Record{}, err
		}
	}
	return rec, nil
}

// Present decodes a record for a response: each stored credential shows
// as the Configured marker.
func Present(rec Record) (nodes.Workflow, error) {
	w, creds, err := decode(rec)
	if err != nil {
		return nodes.Workflow{}, err
	}
	for i, n := range w.Nodes {
		for field := range creds[n.ID] {
			if w.Nodes[i].Credentials == nil {
				w.Nodes[i].Credentials = map[string]any{}
			}
			w.Nodes[i].Credentials[field] = Configured()
		}
	}
	return w, nil
}

// Sealed decodes a record for the execution request the engine runs: each
// credential is the stored sealed value, wrapped as {"sealed": "v1.…"}
// (pkg/secrets.Wrap), still bound to its workflow, node and field. Only the
// engine opens it; app-svc never needs the key to execute.
func Sealed(rec Record) (nodes.Workflow, error) {
	w, creds, err := decode(rec)
	if err != nil {
		return nodes.Workflow{}, err
	}
	for i, n := range w.Nodes {
		for field, s := range creds[n.ID] {
			if w.Nodes[i].Credentials == nil {
				w.Nodes[i].Credentials = map[string]any{}
			}
			w.Nodes[i].Credentials[field] = secrets.Wrap(s)
		}
	}
	return w, nil
}

// Reveal decodes a record with its credentials in clear. app-svc does not
// use it to execute (Sealed does: credentials reach the engine sealed);
// never for a response.
func (c *Codec) Reveal(id uuid.UUID, rec Record) (nodes.Workflow, error) {
	w, creds, err := decode(rec)
	if err != nil {
		return nodes.Workflow{}, err
	}
	for i, n := range w.Nodes {
		for field, s := range creds[n.ID] {
			plain, err := c.sealer.Open(s, aad(id, n.ID, field))
			if err != nil {
				return nodes.Workflow{}, fmt.Errorf("workflow %s node %s credential %s: %w", id, n.ID, field, err)
			}
			var v any
			if err := json.Unmarshal(plain, &v); err != nil {
				return nodes.Workflow{}, err
			}
			if w.Nodes[i].Credentials == nil {
				w.Nodes[i].Credentials = map[string]any{}
			}
			w.Nodes[i].Credentials[field] = v
		}
	}
	return w, nil
}

// StoredCredentials decodes the credentials column.
func StoredCredentials(raw []byte) (Credentials, error) {
	creds := Credentials{}
	if len(raw) == 0 {
		return creds, nil
	}
	if err := json.Unmarshal(raw, &creds); err != nil {
		return nil, fmt.Errorf("workflow credentials column: %w", err)
	}
	return creds, nil
}

func decode(rec Record) (nodes.Workflow, Credentials, error) {
	w := nodes.Workflow{Name: rec.Name, Description: rec.Description}
	for _, f := range []struct {
		name string
		raw  []byte
		dst  any
	}{{"nodes", rec.Nodes, &w.Nodes}, {"connections", rec.Connections, &w.Connections}, {"settings", rec.Settings, &w.Settings}} {
		if len(f.raw) == 0 {
			continue
		}
		if err := json.Unmarshal(f.raw, f.dst); err != nil {
			return nodes.Workflow{}, nil, fmt.Errorf("workflow %s column: %w", f.name, err)
		}
	}
	creds, err := StoredCredentials(rec.Credentials)
	return w, creds, err
}

// aad binds a sealed value to its workflow, node and field.
func aad(workflowID uuid.UUID, nodeID, field string) []byte {
	return secrets.CredentialAAD(workflowID.String(), nodeID, field)
}
