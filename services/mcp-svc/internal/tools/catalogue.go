package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/wfagent/gateway/pkg/nodes"
)

// Limits of the node-knowledge tools.
const (
	maxDetailNodes    = 50
	defaultMaxResults = 10
	maxSearchResults  = 50
)

func catalogueTools() []entry {
	readOnly := Annotations{ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: ptr(false)}
	typeNames := make([]string, 0, 8)
	for _, t := range nodes.Types() {
		typeNames = append(typeNames, t.Type)
	}
	enum, _ := json.Marshal(typeNames)
	return []entry{
		{
			tool: Tool{
				Name: "get_node_types",
				Description: "List the workflow node types (TRIGGER_NODE, ACTION_NODE, FLOW_NODE …) and their subtypes, " +
					"with what each does and whether this platform's engine can execute it. Start here when designing a workflow; " +
					"then use get_node_details for parameters and examples.",
				InputSchema: json.RawMessage(`{
  "type": "object",
  "properties": {
    "type_filter": {"type": "string", "enum": ` + string(enum) + `, "description": "Only this node type."}
  },
  "additionalProperties": false
}`),
				Annotations: withTitle(readOnly, "Node types"),
			},
			run: getNodeTypes,
		},
		{
			tool: Tool{
				Name: "get_node_details",
				Description: "Describe node subtypes in full: ports, credential fields, the JSON Schema of their parameters and a valid example. " +
					"Ask for every node you plan to use before creating a workflow.",
				InputSchema: json.RawMessage(`{
  "type": "object",
  "required": ["nodes"],
  "properties": {
    "nodes": {
      "type": "array", "minItems": 1, "maxItems": ` + fmt.Sprint(maxDetailNodes) + `,
      "description": "The nodes to describe.",
      "items": {
        "type": "object",
        "required": ["node_type", "subtype"],
        "properties": {
          "node_type": {"type": "string", "description": "e.g. FLOW_NODE"},
          "subtype": {"type": "string", "description": "e.g. WAIT"}
        },
        "additionalProperties": false
      }
    },
    "include_examples": {"type": "boolean", "default": true, "description": "Include a parameters example."},
    "include_schemas": {"type": "boolean", "default": true, "description": "Include the parameters JSON Schema."}
  },
  "additionalProperties": false
}`),
				Annotations: withTitle(readOnly, "Node details"),
			},
			run: getNodeDetails,
		},
		{
			tool: Tool{
				Name:        "search_nodes",
				Description: "Find node subtypes by words (e.g. \"http request\", \"wait\", \"slack message\"), best matches first.",
				InputSchema: json.RawMessage(`{
  "type": "object",
  "required": ["query"],
  "properties": {
    "query": {"type": "string", "minLength": 1, "maxLength": 200, "description": "Words to look for in node names and descriptions."},
    "max_results": {"type": "integer", "minimum": 1, "maximum": ` + fmt.Sprint(maxSearchResults) + `, "default": ` + fmt.Sprint(defaultMaxResults) + `},
    "include_details": {"type": "boolean", "default": false, "description": "Add ports, parameters schema and example to each result."}
  },
  "additionalProperties": false
}`),
				Annotations: withTitle(readOnly, "Search nodes"),
			},
			run: searchNodes,
		},
	}
}

func withTitle(a Annotations, title string) Annotations { a.Title = title; return a }

// subtypeSummary is one subtype in a listing.
type subtypeSummary struct {
	Subtype     string `json:"subtype"`
	DisplayName string `json:"display_name"`
	Description string `json:"description"`
	Executable  bool   `json:"executable"`
}

type typeSummary struct {
	Type        string           `json:"type"`
	Description string           `json:"description"`
	Subtypes    []subtypeSummary `json:"subtypes"`
}

type nodeTypesResult struct {
	NodeTypes     []typeSummary `json:"node_types"`
	TotalTypes    int           `json:"total_types"`
	TotalSubtypes int           `json:"total_subtypes"`
}

func getNodeTypes(_ context.Context, _ Caller, raw json.RawMessage) (any, error) {
	var args struct {
		TypeFilter string `json:"type_filter"`
	}
	if err := json.Unmarshal(raw, &args); err != nil {
		return nil, err
	}
	out := nodeTypesResult{NodeTypes: []typeSummary{}}
	for _, t := range nodes.Types() {
		if args.TypeFilter != "" && t.Type != args.TypeFilter {
			continue
		}
		ts := typeSummary{Type: t.Type, Description: t.Description, Subtypes: make([]subtypeSummary, 0, len(t.Subtypes))}
		for _, st := range t.Subtypes {
			s, _ := nodes.Lookup(t.Type, st)
			ts.Subtypes = append(ts.Subtypes, subtypeSummary{Subtype: s.Subtype, DisplayName: s.DisplayName, Description: s.Description, Executable: s.Executable})
		}
		out.NodeTypes = append(out.NodeTypes, ts)
		out.TotalSubtypes += len(ts.Subtypes)
	}
	out.TotalTypes = len(out.NodeTypes)
	return out, nil
}

// nodeDetail is one spec in full, or why it could not be found.
type nodeDetail struct {
	NodeType         string          `json:"node_type"`
	Subtype          string          `json:"subtype"`
	DisplayName      string          `json:"display_name,omitempty"`
	Description      string          `json:"description,omitempty"`
	Executable       *bool           `json:"executable,omitempty"`
	Ports            *nodes.Ports    `json:"ports,omitempty"`
	CredentialFields []string        `json:"credential_fields,omitempty"`
	ParametersSchema json.RawMessage `json:"parameters_schema,omitempty"`
	Example          json.RawMessage `json:"example,omitempty"`
	Error            string          `json:"error,omitempty"`
}

func detailOf(s nodes.Spec, examples, schemas bool) nodeDetail {
	d := nodeDetail{
		NodeType: s.Type, Subtype: s.Subtype, DisplayName: s.DisplayName, Description: s.Description,
		Executable: ptr(s.Executable), Ports: &s.Ports, CredentialFields: s.CredentialFields,
	}
	if schemas {
		d.ParametersSchema = s.ParametersSchema
	}
	if examples {
		d.Example = s.Example
	}
	return d
}

// unknownNode explains a miss with the names that do exist.
func unknownNode(typ, subtype string) string {
	var known []string
	for _, t := range nodes.Types() {
		if t.Type == typ {
			return fmt.Sprintf("%s has no subtype %q; its subtypes are %s", typ, subtype, strings.Join(t.Subtypes, ", "))
		}
		known = append(known, t.Type)
	}
	return fmt.Sprintf("unknown node type %q; the types are %s", typ, strings.Join(known, ", "))
}

type nodeDetailsResult struct {
	Nodes []nodeDetail `json:"nodes"`
	Found int          `json:"found"`
}

func getNodeDetails(_ context.Context, _ Caller, raw json.RawMessage) (any, error) {
	args := struct {
		Nodes []struct {
			NodeType string `json:"node_type"`
			Subtype  string `json:"subtype"`
		} `json:"nodes"`
		IncludeExamples bool `json:"include_examples"`
		IncludeSchemas  bool `json:"include_schemas"`
	}{IncludeExamples: true, IncludeSchemas: true}
	if err := json.Unmarshal(raw, &args); err != nil {
		return nil, err
	}
	out := nodeDetailsResult{Nodes: make([]nodeDetail, 0, len(args.Nodes))}
	var misses []string
	for _, n := range args.Nodes {
		s, ok := nodes.Lookup(n.NodeType, n.Subtype)
		if !ok {
			msg := unknownNode(n.NodeType, n.Subtype)
			misses = append(misses, msg)
			out.Nodes = append(out.Nodes, nodeDetail{NodeType: n.NodeType, Subtype: n.Subtype, Error: msg})
			continue
		}
		out.Nodes = append(out.Nodes, detailOf(s, args.IncludeExamples, args.IncludeSchemas))
		out.Found++
	}
	if out.Found == 0 {
		return nil, &toolError{code: "unknown_node", message: "none of the nodes exist: " + strings.Join(misses, "; ") + ". get_node_types lists them all.", details: out.Nodes}
	}
	return out, nil
}

// searchHit is one search result.
type searchHit struct {
	NodeType    string      `json:"node_type"`
	Subtype     string      `json:"subtype"`
	DisplayName string      `json:"display_name"`
	Description string      `json:"description"`
	Executable  bool        `json:"executable"`
	Score       int         `json:"score"`
	Details     *nodeDetail `json:"details,omitempty"`
}

type searchResult struct {
	Query        string      `json:"query"`
	Results      []searchHit `json:"results"`
	TotalMatches int         `json:"total_matches"`
}

func searchNodes(_ context.Context, _ Caller, raw json.RawMessage) (any, error) {
	args := struct {
		Query          string `json:"query"`
		MaxResults     int    `json:"max_results"`
		IncludeDetails bool   `json:"include_details"`
	}{MaxResults: defaultMaxResults}
	if err := json.Unmarshal(raw, &args); err != nil {
		return nil, err
	}
	words := searchWords(args.Query)
	if len(words) == 0 {
		return nil, failf("invalid_arguments", "query %q has no letters or digits to search for", args.Query)
	}
	out := searchResult{Query: args.Query, Results: []searchHit{}}
	for _, s := range nodes.Catalogue() {
		score := matchScore(s, words)
		if score == 0 {
			continue
		}
		h := searchHit{NodeType: s.Type, Subtype: s.Subtype, DisplayName: s.DisplayName, Description: s.Description, Executable: s.Executable, Score: score}
		if args.IncludeDetails {
			d := detailOf(s, true, true)
			h.Details = &d
		}
		out.Results = append(out.Results, h)
	}
	// Stable: equal scores keep catalogue order.
	slices.SortStableFunc(out.Results, func(a, b searchHit) int { return b.Score - a.Score })
	out.TotalMatches = len(out.Results)
	if len(out.Results) > args.MaxResults {
		out.Results = out.Results[:args.MaxResults]
	}
	return out, nil
}

// searchWords lower-cases the query and splits it on anything but letters
// and digits.
func searchWords(q string) []string {
	return strings.FieldsFunc(strings.ToLower(q), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127)
	})
}

// matchScore weighs a word found in the subtype or display name above one
// found in the type, and those above the description; a whole-word match of
// the subtype counts most.
func matchScore(s nodes.Spec, words []string) int {
	subtypeWords := searchWords(s.Subtype)
	typeWords := searchWords(s.Type)
	name := strings.ToLower(s.DisplayName)
	desc := strings.ToLower(s.Description)
	score := 0
	for _, w := range words {
		switch {
		case slices.Contains(subtypeWords, w):
			score += 6
		case strings.Contains(strings.ToLower(s.Subtype), w):
			score += 4
		}
		if strings.Contains(name, w) {
			score += 3
		}
		if slices.Contains(typeWords, w) {
			score += 2
		}
		if strings.Contains(desc, w) {
			score++
		}
	}
	return score
}
