// Drives mcp-svc's MCP endpoint with the official TypeScript SDK client, as
// Claude Desktop or the MCP Inspector would. Run by main_test.go (and by the
// lead's full-stack test); prints one JSON summary line and exits 0, or
// prints what failed and exits 1.
//
//   MCP_URL         the endpoint, e.g. http://127.0.0.1:8000/api/mcp/mcp
//   MCP_API_KEY     a key with tools:read and tools:execute
//   MCP_KEY_HEADER  x-api-key (default) or bearer: how the key is sent
//   MCP_BAD_KEY     a key that must be refused (default: a made-up one)
//   MCP_OWNED_FLOW  1: MCP_API_KEY has an owner and app-svc + the engine run;
//                   create, execute and read back the DESIGN §6 example
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const url = new URL(required('MCP_URL'));
const key = required('MCP_API_KEY');
const badKey = process.env.MCP_BAD_KEY || 'wfa_' + 'x'.repeat(43);
const ownedFlow = process.env.MCP_OWNED_FLOW === '1';

// DESIGN §6, verbatim.
const hello = {
  name: 'Hello pipeline', description: 'manual start, short wait, then set a value',
  nodes: [
    { id: 'n1', name: 'Start', type: 'TRIGGER_NODE', subtype: 'MANUAL', parameters: {} },
    { id: 'n2', name: 'Pause', type: 'FLOW_NODE', subtype: 'WAIT', parameters: { seconds: 0.2 } },
    { id: 'n3', name: 'Greet', type: 'ACTION_NODE', subtype: 'DATA_TRANSFORMATION',
      parameters: { values: { greeting: 'hello' } } }],
  connections: {
    Start: { main: [[{ node: 'Pause', type: 'main', index: 0 }]] },
    Pause: { main: [[{ node: 'Greet', type: 'main', index: 0 }]] } },
};

function required(name) {
  const v = process.env[name];
  if (!v) fail(`${name} is not set`);
  return v;
}

function fail(msg) {
  console.error(`client.mjs: ${msg}`);
  process.exit(1);
}

function headersFor(k) {
  return process.env.MCP_KEY_HEADER === 'bearer' ? { Authorization: `Bearer ${k}` } : { 'X-API-Key': k };
}

async function connect(k) {
  const client = new Client({ name: 'mcp-svc-e2e', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(url, { requestInit: { headers: headersFor(k) } });
  await client.connect(transport);
  return client;
}

async function call(client, name, args) {
  const res = await client.callTool({ name, arguments: args });
  if (res.isError) fail(`${name} returned isError: ${res.content?.[0]?.text}`);
  if (!res.structuredContent) fail(`${name} returned no structuredContent`);
  return res.structuredContent;
}

const summary = {};

// A good key: initialize, ping, tools/list, tools/call.
const client = await connect(key);
summary.server = client.getServerVersion();
await client.ping();
const { tools } = await client.listTools();
summary.tools = tools.map((t) => t.name).sort();
for (const t of tools) {
  if (t.inputSchema?.type !== 'object') fail(`tool ${t.name} has no object inputSchema`);
}
const types = await call(client, 'get_node_types', { type_filter: 'FLOW_NODE' });
summary.flow_subtypes = types.node_types[0].subtypes.map((s) => s.subtype);

// Optional: the owned-key flow through app-svc and the engine.
if (ownedFlow) {
  const created = await call(client, 'create_workflow', hello);
  const wf = created.workflow ?? created; // the record, bare or wrapped
  if (!wf.id) fail(`create_workflow returned no id: ${JSON.stringify(created)}`);
  const started = await call(client, 'execute_workflow', { workflow_id: wf.id, inputs: {} });
  if (!started.execution_id) fail(`execute_workflow returned no execution_id: ${JSON.stringify(started)}`);
  let execution;
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 250))) {
    const got = await call(client, 'get_execution', { execution_id: started.execution_id });
    execution = got.execution ?? got;
    if (['success', 'error', 'canceled'].includes(execution.status)) break;
  }
  if (execution?.status !== 'success') fail(`execution ${started.execution_id} ended ${execution?.status}: ${JSON.stringify(execution)}`);
  if (!/"greeting":\s*"hello"/.test(JSON.stringify(execution))) fail(`the execution lacks greeting=hello: ${JSON.stringify(execution)}`);
  summary.owned_flow = { workflow_id: wf.id, execution_id: started.execution_id, status: execution.status };
}
await client.close();

// A bad key: a clean 401 in the MCP error shape, before any session.
try {
  await connect(badKey);
  fail('a bad key connected');
} catch (err) {
  if (!(err instanceof StreamableHTTPError)) fail(`bad key: unexpected error ${err}`);
  const body = JSON.parse(err.message.slice(err.message.indexOf('{')));
  summary.bad_key = { status: err.code, error: body.error, error_type: body.error_type, success: body.success };
}

console.log(JSON.stringify(summary));
