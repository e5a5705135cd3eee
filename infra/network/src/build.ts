// The compiled form of the deployments `pnpm start` runs: one ES module per service main (and one
// for the telemetry preload), bundled by esbuild from the TypeScript sources of the service and
// the workspace libraries it imports. Third-party packages are not bundled: each import of one is
// resolved where the importing file lies (pnpm gives every package its own dependencies) and kept
// as an import of that absolute path, so Node loads the very file it would have loaded under tsx.
//
// Why: under tsx every deployment ran its code through an ESM loader hook, kept an esbuild helper
// process, and had source maps switched on for every stack trace it formatted. The build takes
// about a second and runs on every start, so what runs is always the code in the work tree.
import { readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, stop, type Plugin } from 'esbuild';

/**
 * Bundles each entry into `outDir` (emptied first) and returns where each one landed, in the
 * order given. Entries are named `<name>.mjs` after the key of `entries`.
 */
export async function buildEntries(entries: Record<string, string>, outDir: string): Promise<Record<string, string>> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: Object.entries(entries).map(([name, source]) => ({ in: source, out: name })),
    outdir: outDir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Node's own conditions only: esbuild would otherwise add webpack's "module" condition and
    // could pick another file of a package than Node does.
    conditions: [],
    // Class and function names stay what the sources say (errors report them, logs carry them).
    keepNames: true,
    sourcemap: 'linked',
    logLevel: 'warning',
    plugins: [externalPackages(), sourceLocations()],
  });
  return Object.fromEntries(Object.keys(entries).map((name) => [name, join(outDir, `${name}.mjs`)]));
}

/** Ends esbuild's helper process, which would otherwise stay a child of the launcher. */
export async function stopBuilding(): Promise<void> {
  await stop();
}

/** Bare imports other than the workspace's own (@lotse/*) stay imports, of the file Node would load. */
function externalPackages(): Plugin {
  return {
    name: 'lotse-external-packages',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData === 'resolving' || args.path.startsWith('@lotse/') || args.path.startsWith('node:')) return undefined;
        const resolved = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'resolving' });
        if (resolved.errors.length > 0) return { errors: resolved.errors };
        // A built-in module without the node: prefix (e.g. 'fs') comes back external as it was.
        if (resolved.external) return { path: args.path, external: true };
        return { path: pathToFileURL(resolved.path).href, external: true };
      });
    },
  };
}

/**
 * Workspace sources find their data files (policy/, proto/, a service's JSON, the console's web
 * folder) relative to `import.meta.url`; in a bundle that would be the bundle's own address, so
 * each file's `import.meta.url` is replaced by the address of its source.
 */
function sourceLocations(): Plugin {
  return {
    name: 'lotse-source-locations',
    setup(b) {
      b.onLoad({ filter: /\.[cm]?[jt]s$/ }, (args) => {
        if (args.path.includes('/node_modules/')) return undefined;
        const text = readFileSync(args.path, 'utf8');
        const loader = /\.[cm]?ts$/.test(args.path) ? 'ts' : 'js';
        if (!text.includes('import.meta.url')) return { contents: text, loader };
        return { contents: text.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)), loader };
      });
    },
  };
}
