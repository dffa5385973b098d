// Package nodes is the node catalogue and the workflow model every service
// shares: app-svc validates workflows with it before storing them, the
// workflow-engine runs them in its topological order, the workflow-agent drafts
// them from it and mcp-svc serves it to LLM clients.
//
// A workflow is nodes plus connections in n8n's shape, keyed by source node
// name (DESIGN §6). Each node type/subtype has a Spec: a description, a JSON
// Schema (draft 2020-12) for its parameters, its ports, an example and whether
// this platform's engine can execute it. The schemas live in schemas/ as one
// self-contained file per subtype so they can be served to clients verbatim.
//
// Expressions: parameters documented as expressions (IF/FILTER/SWITCH
// conditions, DATA_TRANSFORMATION expressions, LOOP items) are expr-lang source;
// string parameters that may be computed (URLs, message texts) are templates
// with {{ … }} parts. This package only checks their shape; the engine
// compiles and evaluates them.
package nodes
