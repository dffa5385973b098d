package nodes

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// edge is one resolved connection between node indexes.
type edge struct {
	to    int
	field string // where the connection is written, for problems
}

// graph is the workflow's connections resolved to node indexes; connections
// that do not resolve are reported and left out.
type graph struct {
	out      [][]edge
	inDegree []int
}

// buildGraph resolves the connections, reporting every one that does not
// name existing nodes and ports. Sources are visited in sorted order so
// problems come out the same way every time.
func buildGraph(w Workflow, report func(Problem)) *graph {
	g := &graph{out: make([][]edge, len(w.Nodes)), inDegree: make([]int, len(w.Nodes))}
	index := make(map[string]int, len(w.Nodes))
	for i, n := range w.Nodes {
		if _, dup := index[n.Name]; !dup {
			index[n.Name] = i
		}
	}
	if total := countConnections(w.Connections); total > MaxConnections {
		report(Problem{Field: "connections", Message: fmt.Sprintf("at most %d connections (outputs and targets) are allowed, got %d", MaxConnections, total)})
		return g
	}
	type pair struct{ from, output, to, input int }
	seen := map[pair]bool{}
	for _, src := range sortedKeys(w.Connections) {
		srcField := "connections" + keyField(src)
		from, ok := index[src]
		if !ok {
			report(Problem{NodeName: src, Field: srcField, Message: fmt.Sprintf("source node %q does not exist", src)})
			continue
		}
		n := w.Nodes[from]
		problem := func(field, msg string) {
			report(Problem{NodeID: n.ID, NodeName: n.Name, Field: field, Message: msg})
		}
		outputs, outputsKnown := portsOf(n, false)
		for _, typ := range sortedKeys(w.Connections[src]) {
			typField := srcField + keyField(typ)
			if typ != ConnectionMain {
				problem(typField, fmt.Sprintf("unsupported connection type %q; only %q is supported", typ, ConnectionMain))
				continue
			}
			for o, targets := range w.Connections[src][typ] {
				outField := typField + "[" + strconv.Itoa(o) + "]"
				if outputsKnown && o >= len(outputs) && len(targets) > 0 {
					problem(outField, fmt.Sprintf("%s has %s; output %d does not exist", n.Type+"."+n.Subtype, portList(outputs, "output"), o))
					continue
				}
				for t, c := range targets {
					field := outField + "[" + strconv.Itoa(t) + "]"
					to, ok := index[c.Node]
					if !ok {
						problem(field+".node", fmt.Sprintf("target node %q does not exist", c.Node))
						continue
					}
					if c.Type != ConnectionMain {
						problem(field+".type", fmt.Sprintf("must be %q", ConnectionMain))
						continue
					}
					target := w.Nodes[to]
					if inputs, known := portsOf(target, true); known && (c.Index < 0 || c.Index >= len(inputs)) {
						problem(field+".index", fmt.Sprintf("target %q (%s) has %s; input %d does not exist", target.Name, target.Type+"."+target.Subtype, portList(inputs, "input"), c.Index))
						continue
					}
					p := pair{from, o, to, c.Index}
					if seen[p] {
						problem(field, fmt.Sprintf("duplicate connection to %q input %d", c.Node, c.Index))
						continue
					}
					seen[p] = true
					g.out[from] = append(g.out[from], edge{to: to, field: field})
					g.inDegree[to]++
				}
			}
		}
	}
	return g
}

// countConnections counts outputs and targets, so a connection map of
// millions of empty outputs is as bounded as one of millions of targets.
func countConnections(conns map[string]NodeConnections) int {
	total := 0
	for _, nc := range conns {
		for _, outs := range nc {
			total += len(outs)
			for _, targets := range outs {
				total += len(targets)
			}
		}
	}
	return total
}

// portsOf returns a node's inputs or outputs; false when its type is unknown
// or its outputs depend on parameters that do not say (those problems are
// reported elsewhere).
func portsOf(n Node, inputs bool) ([]string, bool) {
	spec, ok := Lookup(n.Type, n.Subtype)
	if !ok {
		return nil, false
	}
	if inputs {
		return spec.Ports.Inputs, true
	}
	return spec.OutputsFor(n.Parameters)
}

func portList(ports []string, what string) string {
	switch len(ports) {
	case 0:
		return "no " + what
	case 1:
		return "1 " + what + " (" + ports[0] + ")"
	}
	return strconv.Itoa(len(ports)) + " " + what + "s (" + strings.Join(ports, ", ") + ")"
}

// cycles reports each connection that closes a cycle, with the cycle's node
// names. The depth-first search keeps its own stack: a 200-node chain must
// not depend on goroutine stack growth, and the walk stays easy to bound.
func (g *graph) cycles(nodes []Node, report func(Problem)) {
	const (
		unvisited = iota
		onPath
		done
	)
	state := make([]int, len(nodes))
	type frame struct{ node, next int }
	for root := range nodes {
		if state[root] != unvisited {
			continue
		}
		path := []frame{{root, 0}}
		state[root] = onPath
		for len(path) > 0 {
			top := &path[len(path)-1]
			if top.next == len(g.out[top.node]) {
				state[top.node] = done
				path = path[:len(path)-1]
				continue
			}
			e := g.out[top.node][top.next]
			top.next++
			switch state[e.to] {
			case unvisited:
				state[e.to] = onPath
				path = append(path, frame{e.to, 0})
			case onPath:
				start := slices.IndexFunc(path, func(f frame) bool { return f.node == e.to })
				names := make([]string, 0, len(path)-start+1)
				for _, f := range path[start:] {
					names = append(names, nodes[f.node].Name)
				}
				names = append(names, nodes[e.to].Name)
				n := nodes[top.node]
				report(Problem{NodeID: n.ID, NodeName: n.Name, Field: e.field,
					Message: "connection closes a cycle " + strings.Join(names, " → ") + "; a workflow must be a DAG"})
			}
		}
	}
}

// TopologicalOrder returns the workflow's node names in levels: every node's
// inputs come from earlier levels, so the nodes of one level may run in
// parallel. Within a level nodes keep their workflow order. Disabled nodes
// are included; skipping them is the engine's call. It fails with a
// *ValidationError when connections do not resolve or form a cycle; the
// engine runs it on workflows that passed ValidateExecutable.
func TopologicalOrder(w Workflow) ([][]string, error) {
	if len(w.Nodes) > MaxNodes {
		return nil, &ValidationError{Problems: []Problem{{Field: "nodes", Message: fmt.Sprintf("at most %d nodes are allowed, got %d", MaxNodes, len(w.Nodes))}}}
	}
	c := &checker{}
	g := buildGraph(w, c.add)
	if err := c.err(); err != nil {
		return nil, err
	}
	inDegree := slices.Clone(g.inDegree)
	var level []int
	for i, d := range inDegree {
		if d == 0 {
			level = append(level, i)
		}
	}
	var levels [][]string
	placed := 0
	for len(level) > 0 {
		names := make([]string, len(level))
		var next []int
		for j, i := range level {
			names[j] = w.Nodes[i].Name
			for _, e := range g.out[i] {
				if inDegree[e.to]--; inDegree[e.to] == 0 {
					next = append(next, e.to)
				}
			}
		}
		slices.Sort(next)
		levels = append(levels, names)
		placed += len(level)
		level = next
	}
	if placed < len(w.Nodes) {
		g.cycles(w.Nodes, c.add)
		if err := c.err(); err != nil {
			return nil, err
		}
		return nil, &ValidationError{Problems: []Problem{{Field: "connections", Message: "connections form a cycle"}}}
	}
	return levels, nil
}
