/** The public view of the dependency graph (`app.graph()`), with Mermaid and DOT renderings. */
import type { DependencyGraph, GraphEdge, GraphNode } from '../types.js';

export function createDependencyGraph(nodes: GraphNode[], edges: GraphEdge[]): DependencyGraph {
  return {
    nodes,
    edges,
    toMermaid: () => toMermaid(nodes, edges),
    toDot: () => toDot(nodes, edges),
  };
}

function toMermaid(nodes: readonly GraphNode[], edges: readonly GraphEdge[]): string {
  const key = new Map(nodes.map((node, index) => [node.id, `n${index}`]));
  const lines = ['graph TD'];
  for (const node of nodes) {
    const label = `${node.name}${node.scope === 'singleton' ? '' : ` (${node.scope})`}`;
    const shape = node.disposable ? `[["${escapeMermaid(label)}"]]` : `["${escapeMermaid(label)}"]`;
    lines.push(`  ${key.get(node.id)}${shape}`);
  }
  for (const edge of edges) lines.push(`  ${key.get(edge.from)} --> ${key.get(edge.to)}`);
  return lines.join('\n');
}

function toDot(nodes: readonly GraphNode[], edges: readonly GraphEdge[]): string {
  const lines = ['digraph quiesce {', '  rankdir=TB;'];
  for (const node of nodes) {
    const attributes = [`label=${quote(`${node.name}${node.scope === 'singleton' ? '' : `\n(${node.scope})`}`)}`];
    if (node.disposable) attributes.push('peripheries=2');
    lines.push(`  ${quote(node.id)} [${attributes.join(', ')}];`);
  }
  for (const edge of edges) lines.push(`  ${quote(edge.from)} -> ${quote(edge.to)};`);
  lines.push('}');
  return lines.join('\n');
}

function escapeMermaid(text: string): string {
  return text.replace(/"/g, '#quot;');
}

function quote(text: string): string {
  return JSON.stringify(text);
}
