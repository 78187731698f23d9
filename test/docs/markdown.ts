// Reading the repository's Markdown for the docs tests: paragraphs, links, file references, anchors.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

export const ROOT = normalize(join(__dirname, '..', '..'));

/** Folders that hold no docs of the project's own. */
const SKIPPED_DIRS = new Set(['node_modules', 'dist', '.git', '.bench-out', '.node18']);

/** Every Markdown file of the repository, as paths relative to its root. */
export function markdownFiles(dir = ROOT): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) found.push(...markdownFiles(join(dir, entry.name)));
    } else if (entry.name.endsWith('.md')) {
      found.push(relative(ROOT, join(dir, entry.name)));
    }
  }
  return found.sort();
}

/** The lines outside fenced code blocks (inside them, text is code, not links or references). */
export function proseLines(markdown: string): string[] {
  let fenced = false;
  return markdown.split('\n').map((line) => {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      return '';
    }
    return fenced ? '' : line;
  });
}

/**
 * The text with every paragraph and list item on one line, so that a test can look for a fact however
 * the prose wraps. Table rows, headings, list items and fences start a line of their own.
 */
export function unwrap(markdown: string): string {
  const out: string[] = [];
  for (const line of markdown.split('\n')) {
    const trimmed = line.trim();
    const previous = out.at(-1);
    const startsBlock = trimmed === '' || /^(\||#|- |\d+\. |```)/.test(trimmed);
    if (!startsBlock && previous !== undefined && previous.trim() !== '' && !/^\s*(```|\|)/.test(previous)) {
      out[out.length - 1] = `${previous} ${trimmed}`;
    } else {
      out.push(line);
    }
  }
  return out.join('\n');
}

/** Relative targets of inline links and images `[text](target)`, without web and mail addresses. */
export function relativeLinks(markdown: string): string[] {
  const targets: string[] = [];
  for (const line of proseLines(markdown)) {
    for (const match of line.matchAll(/!?\[[^\]]*\]\(<?([^)\s>]+)>?(?:\s+"[^"]*")?\)/g)) {
      const target = match[1] ?? '';
      if (!/^[a-z][a-z0-9+.-]*:/i.test(target)) targets.push(target);
    }
  }
  return targets;
}

/** File name endings that make a backticked token a reference to a file of the repository. */
const FILE_EXTENSIONS = /\.(ts|mts|cts|js|mjs|cjs|json|md|c|h|sh|txt|ya?ml|toml)$/;

/**
 * Backticked tokens that name a repository path: relative, with a `/`, ending in a known extension or in
 * `/` (a folder). Absolute host paths (`/run/...`), schedules (`TERM/30s/KILL/5s`), globs and placeholders
 * are not file references.
 */
export function fileReferences(markdown: string): string[] {
  const refs: string[] = [];
  for (const line of proseLines(markdown)) {
    for (const match of line.matchAll(/`([^`\s]+)`/g)) {
      const token = match[1] ?? '';
      if (!/^[\w.-]+(\/[\w.@-]+)*\/?$/.test(token) || !token.includes('/')) continue;
      if (token.endsWith('/') || FILE_EXTENSIONS.test(token)) refs.push(token);
    }
  }
  return refs;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a Markdown file's headings. */
export function anchors(markdown: string): Set<string> {
  return new Set(
    proseLines(markdown)
      .map((line) => /^#{1,6}\s+(.*)$/.exec(line)?.[1])
      .filter((heading): heading is string => heading !== undefined)
      .map(slug),
  );
}

/**
 * Problems with the relative links of one Markdown file (`file`, relative to the root): a target that does
 * not exist, is not in `allowed` when that is given, or names an anchor its Markdown target lacks.
 */
export function linkProblems(file: string, markdown: string, allowed?: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  for (const link of relativeLinks(markdown)) {
    const [path = '', anchor] = link.split('#');
    const target = path === '' ? file : normalize(join(dirname(file), decodeURIComponent(path)));
    const absolute = join(ROOT, target);
    if (target.startsWith('..') || !existsSync(absolute)) {
      problems.push(`${file}: link (${link}) points to a missing file`);
      continue;
    }
    const isDir = statSync(absolute).isDirectory();
    if (allowed !== undefined && !isDir && !allowed.has(target)) {
      problems.push(`${file}: link (${link}) points to ${target}, which the package does not ship`);
    }
    if (anchor !== undefined && anchor !== '' && target.endsWith('.md')) {
      if (!anchors(readFileSync(absolute, 'utf8')).has(anchor)) {
        problems.push(`${file}: link (${link}) names a heading ${target} does not have`);
      }
    }
  }
  return problems;
}

/** Backticked repository paths of one Markdown file that resolve neither from the root nor beside it. */
export function referenceProblems(file: string, markdown: string): string[] {
  return fileReferences(markdown)
    .filter((ref) => !existsSync(join(ROOT, ref)) && !existsSync(join(ROOT, dirname(file), ref)))
    .map((ref) => `${file}: \`${ref}\` names no file or folder of the repository`);
}
