/**
 * The public type surface, read with the TypeScript checker: from each entry's .d.ts, every
 * export and every type its declarations name, followed transitively. Reports a name a user
 * could not write (not exported by any entry), a type from a package the user may not have,
 * and lists the @types/node names used. Limit: names written in the .d.ts only.
 */
import { dirname, join, relative, sep } from 'node:path';
import ts from 'typescript';

/** A public declaration that names something a user cannot name. */
export interface Leak {
  /** The public export whose declarations lead here (`greenio:Queue`). */
  via: string;
  /** The name as written, and where it is declared (relative to the package root). */
  name: string;
  declaredIn: string;
  why: 'not exported by any entry' | 'unresolved' | 'from a package that is not a dependency';
}

/** A Node type named by the public surface: `module` is null for a global. */
export interface NodeName {
  module: string | null;
  name: string;
  type: boolean;
}

export interface Surface {
  leaks: Leak[];
  nodeNames: NodeName[];
  /** How many declarations were walked (a check that the walk saw something). */
  walked: number;
  /** The package's own .d.ts files the entries load. */
  files: string[];
  /** The compiler's errors in those files (a user gets them under skipLibCheck false). */
  errors: string[];
  /** Each `any` written in a public declaration: `via (file:line)`. */
  anys: string[];
}

const MEMBER = ts.SymbolFlags.Property | ts.SymbolFlags.Method | ts.SymbolFlags.EnumMember | ts.SymbolFlags.Accessor;

/**
 * Walk the public surface. `entries` maps an import specifier (`greenio/monkey`) to its .d.ts;
 * `packages` are the packages a user has beside this one (dependencies, peers, @types/node).
 */
export function readSurface(root: string, entries: Record<string, string>, packages: string[], options: ts.CompilerOptions = {}): Surface {
  const program = ts.createProgram(Object.values(entries), {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
    // Off, as for a strict user: an .d.ts naming a declaration stripped from another fails.
    skipLibCheck: false,
    types: ['node'],
    ...options,
  });
  const checker = program.getTypeChecker();
  const nameable = new Set<ts.Symbol>();
  const queue: { sym: ts.Symbol; via: string }[] = [];
  const seen = new Set<ts.Symbol>();
  const leaks: Leak[] = [];
  const anys: string[] = [];
  const nodeNames = new Map<string, NodeName>();
  let walked = 0;
  const resolve = (s: ts.Symbol): ts.Symbol => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
  const ownFile = (f: string) => !f.split(sep).includes('node_modules') && !relative(root, f).startsWith('..');
  const packageOf = (f: string): string | undefined => {
    const parts = f.split(sep);
    const i = parts.lastIndexOf('node_modules');
    if (i < 0) return undefined;
    return parts[i + 1]?.startsWith('@') ? `${parts[i + 1]}/${parts[i + 2]}` : parts[i + 1];
  };

  for (const [spec, file] of Object.entries(entries)) {
    const sf = program.getSourceFile(file);
    const mod = sf && checker.getSymbolAtLocation(sf);
    if (!mod) throw new Error(`${spec}: ${file} is not a module the compiler could read`);
    for (const e of checker.getExportsOfModule(mod)) {
      const sym = resolve(e);
      nameable.add(sym);
      queue.push({ sym, via: `${spec}:${e.name}` });
    }
  }
  // A member of something nameable (an enum's member, a namespace's export) is nameable.
  const isNameable = (s: ts.Symbol): boolean => {
    for (let p: ts.Symbol | undefined = s; p; p = (p as { parent?: ts.Symbol }).parent) {
      if (nameable.has(p)) return true;
      if (!(p.flags & (MEMBER | ts.SymbolFlags.ExportValue)) && p !== s) break;
    }
    return false;
  };

  const check = (node: ts.Node, via: string): void => {
    let sym = checker.getSymbolAtLocation(node);
    const written = node.getText();
    if (!sym) {
      leaks.push({ via, name: written, declaredIn: relative(root, node.getSourceFile().fileName), why: 'unresolved' });
      return;
    }
    sym = resolve(sym);
    if (sym.flags & ts.SymbolFlags.TypeParameter) return;
    const decl = sym.declarations?.[0];
    if (!decl) {
      // The checker's `unknown` symbol: an import of a name its module does not export.
      leaks.push({ via, name: written, declaredIn: relative(root, node.getSourceFile().fileName), why: 'unresolved' });
      return;
    }
    const file = decl.getSourceFile().fileName;
    if (program.isSourceFileDefaultLibrary(decl.getSourceFile())) return;
    if (ownFile(file)) {
      if (!isNameable(sym)) leaks.push({ via, name: written, declaredIn: relative(root, file), why: 'not exported by any entry' });
      if (!seen.has(sym) && !(sym.flags & MEMBER)) queue.push({ sym, via: `${via} > ${sym.name}` });
      return;
    }
    const pkg = packageOf(file);
    if (pkg === '@types/node') {
      const full = checker.getFullyQualifiedName(sym);
      const m = /^"([^"]+)"\.(.+)$/.exec(full);
      const name: NodeName = m ? { module: m[1]!, name: m[2]! } as NodeName : { module: null, name: full.replace(/^global\./, '') } as NodeName;
      name.type = (sym.flags & ts.SymbolFlags.Type) !== 0;
      nodeNames.set(`${name.module}:${name.name}`, name);
    } else if (pkg !== undefined && !packages.includes(pkg)) {
      leaks.push({ via, name: written, declaredIn: `${pkg} (${relative(dirname(file), file)})`, why: 'from a package that is not a dependency' });
    }
  };

  const visit = (node: ts.Node, via: string): void => {
    if (node.kind === ts.SyntaxKind.AnyKeyword) {
      const sf = node.getSourceFile();
      anys.push(`${via} (${relative(root, sf.fileName)}:${sf.getLineAndCharacterOfPosition(node.getStart()).line + 1})`);
    }
    if (ts.isTypeReferenceNode(node)) check(node.typeName, via);
    else if (ts.isExpressionWithTypeArguments(node)) check(node.expression, via);
    else if (ts.isTypeQueryNode(node)) check(node.exprName, via);
    else if (ts.isImportTypeNode(node) && node.qualifier) check(node.qualifier, via);
    else if (ts.isComputedPropertyName(node)) check(node.expression, via);
    // The arguments of a reference are types named too; the reference's own name is done.
    if (ts.isTypeReferenceNode(node) || ts.isImportTypeNode(node)) node.typeArguments?.forEach((a) => visit(a, via));
    else if (ts.isExpressionWithTypeArguments(node)) node.typeArguments?.forEach((a) => visit(a, via));
    else if (!ts.isTypeQueryNode(node) && !ts.isComputedPropertyName(node)) ts.forEachChild(node, (c) => visit(c, via));
  };

  for (let item = queue.shift(); item; item = queue.shift()) {
    if (seen.has(item.sym)) continue;
    seen.add(item.sym);
    for (const d of item.sym.declarations ?? []) {
      if (!ownFile(d.getSourceFile().fileName)) continue;
      walked++;
      // Import/export specifiers resolve to the symbol itself; its declarations are walked.
      if (ts.isSourceFile(d) || ts.isModuleDeclaration(d)) continue;
      visit(d, item.via);
    }
  }
  const files = program.getSourceFiles().map((f) => f.fileName).filter(ownFile);
  const errors: string[] = [];
  for (const sf of program.getSourceFiles()) {
    if (!ownFile(sf.fileName)) continue;
    for (const d of program.getSemanticDiagnostics(sf)) {
      const line = d.start === undefined ? 0 : sf.getLineAndCharacterOfPosition(d.start).line + 1;
      errors.push(`${relative(root, sf.fileName)}:${line}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
    }
  }
  return { leaks, nodeNames: [...nodeNames.values()], walked, files, errors, anys };
}

/**
 * The Node names of `names` that the @types/node under `modules` (a node_modules folder)
 * lacks, each with the compiler's message: one probe file naming them all, checked alone.
 */
export function missingNodeNames(names: NodeName[], modules: string): string[] {
  const probe = join(modules, '..', '__greenio-node-names-probe.ts');
  const lines = names.map((n, i) => {
    const ref = n.module === null ? n.name : `import('${n.module}').${n.name}`;
    return `export type T${i} = ${n.type ? ref : `typeof ${ref}`};`;
  });
  const host = ts.createCompilerHost({});
  const read = host.readFile.bind(host);
  host.readFile = (f) => (f === probe ? lines.join('\n') : read(f));
  const exists = host.fileExists.bind(host);
  host.fileExists = (f) => f === probe || exists(f);
  const program = ts.createProgram(
    [probe],
    { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [join(modules, '@types')] },
    host,
  );
  const sf = program.getSourceFile(probe)!;
  const out: string[] = [];
  for (const d of [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)]) {
    if (d.code === 2314) continue; // a generic named without its arguments: it exists
    const line = d.start === undefined ? 0 : sf.getLineAndCharacterOfPosition(d.start).line;
    const n = names[line];
    out.push(`${n ? `${n.module ?? 'global'}: ${n.name}` : 'probe'}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
  }
  return out;
}

/** The checker's text for one leak, as a test reports it. */
export function describeLeak(l: Leak): string {
  return `${l.via}: names \`${l.name}\` (${l.declaredIn}): ${l.why}`;
}
