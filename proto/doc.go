// Package proto holds the gateway's protobuf contracts and their generated Go
// code: workflowagent/v1 (app-svc ↔ Workflow Agent, gRPC) and events/v1
// (app-svc ↔ workflow-engine over NATS JetStream). Regenerate with
// `make proto`; `make test` fails when the committed code is stale.
package proto
