/**
 * Finds code that branches on, or looks up by, a provider preset name written as a literal:
 * `=== 'outlook'`, `case 'gmail':`, `.includes('yahoo')` (and `.has`, `.get`, `.indexOf`,
 * `.startsWith`, `.endsWith`), `['outlook', 'gmail'].includes(p)`, `hosts['outlook']`,
 * `'gmail' in x`, and member access `presets.outlook`. Comments are ignored, and member
 * access is looked for outside strings only (`'mx.outlook.com'` is a host name, not a
 * lookup). An array or object literal that merely holds a name (`['outlook']`,
 * `{ outlook: … }` as data handed on) is not a branch. */
import { stripComments } from './import-graph.js';

export interface ProviderNameUse {
  /** 1-based. */
  line: number;
  name: string;
  text: string;
}

/**
 * Blanks the contents of string literals (quotes and line breaks kept). Runs on comment-free
 * code; a template's `${…}` is blanked with the rest of it (a lookup in there is not seen).
 */
function blankStrings(code: string): string {
  let out = '';
  let quote: string | null = null;
  for (let i = 0; i < code.length; i++) {
    const c = code[i]!;
    if (quote === null) {
      if (c === "'" || c === '"' || c === '`') quote = c;
      out += c;
    } else if (c === '\\') {
      out += code[i + 1] === '\n' ? ' \n' : '  ';
      i++;
    } else if (c === quote || (c === '\n' && quote !== '`')) {
      quote = null;
      out += c;
    } else {
      out += c === '\n' ? c : ' ';
    }
  }
  return out;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function providerNameUses(source: string, names: readonly string[]): ProviderNameUse[] {
  const code = stripComments(source).split('\n');
  const bare = blankStrings(stripComments(source)).split('\n');
  const uses: ProviderNameUse[] = [];
  for (const name of names) {
    const n = escape(name);
    const lit = `['"\`]${n}['"\`]`;
    const literal = new RegExp(
      [
        `[=!]==?\\s*${lit}`, // x === 'outlook'
        `${lit}\\s*[=!]==?`, // 'outlook' === x
        `\\bcase\\s+${lit}`, // case 'outlook':
        `\\.(?:includes|has|get|indexOf|startsWith|endsWith)\\(\\s*${lit}\\s*[,)]`, // .includes('outlook')
        `${lit}[^\\]\\n]*\\]\\s*\\.(?:includes|indexOf)\\(`, // ['outlook', 'gmail'].includes(provider)
        `(?:[\\w$)\\]]|\\?\\.)\\s*\\[\\s*${lit}\\s*\\]`, // hosts['outlook'] (not the array literal ['outlook'])
        `${lit}\\s+in\\b`, // 'outlook' in hosts
      ].join('|'),
    );
    const member = new RegExp(`[\\w$)\\]]\\??\\.${n}\\b`); // presets.outlook, presets?.outlook
    code.forEach((line, i) => {
      if (literal.test(line) || member.test(bare[i]!)) uses.push({ line: i + 1, name, text: source.split('\n')[i]!.trim() });
    });
  }
  return uses.sort((a, b) => a.line - b.line || a.name.localeCompare(b.name));
}
