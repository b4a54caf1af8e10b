/**
 * Extracts the ```ts blocks of a Markdown file with the line each starts on, and how the block is marked:
 *   <!-- ts-fragment -->   on one of the (up to 3) non-empty lines before the fence: an intentionally partial
 *                          snippet (a method, a decorator, an excerpt of the sample); it is counted and skipped.
 * Every other ```ts block is a complete example: it is compiled with tsc and run.
 */
import { readFileSync } from 'node:fs';

export interface CodeBlock {
  /** The Markdown file, relative to the repository root. */
  file: string;
  /** 1-based line of the first line of code (the line after the opening fence). */
  line: number;
  code: string;
  fragment: boolean;
}

export const fragmentMarker = '<!-- ts-fragment -->';

export function extractTsBlocks(file: string, markdown: string): CodeBlock[] {
  const lines = markdown.split(/\r?\n/);
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*(ts|typescript)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[2]!;
    const before = lines.slice(0, i).filter((l) => l.trim() !== '').slice(-3);
    const fragment = before.some((l) => l.includes(fragmentMarker));
    let end = i + 1;
    while (end < lines.length && !lines[end]!.trimStart().startsWith(fence)) end++;
    blocks.push({ file, line: i + 2, code: lines.slice(i + 1, end).join('\n'), fragment });
    i = end;
  }
  return blocks;
}

export function readTsBlocks(root: string, file: string): CodeBlock[] {
  return extractTsBlocks(file, readFileSync(new URL(file, root), 'utf8'));
}
