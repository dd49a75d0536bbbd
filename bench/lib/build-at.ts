import { execFileSync, spawn } from 'node:child_process';
import { existsSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { onExit, track } from './proc';
import { ROOT } from './servers';

export interface BuildAt {
  /** The commit as given and as resolved. */
  commit: string;
  sha: string;
  subject: string;
  /** The checkout holding `dist/src/main.js` (for `ProductEnv.root`). */
  root: string;
  buildSeconds: number;
  /** Removes the temporary worktree (idempotent). */
  remove(): void;
}

/** The commit is not in this clone (a shallow clone, a tarball): the comparison cannot be made here. */
export class CommitUnavailable extends Error {}

const git = (...args: string[]) => execFileSync('git', ['-C', ROOT, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

/**
 * Builds the product as it was at `commit`, for a same-run comparison with the current tree: a
 * detached git worktree in `dir` (inside the run's temp dir), this checkout's node_modules linked
 * in (the dependencies did not change), compiled with this checkout's TypeScript. The worktree is
 * removed by `remove()` and, as a last resort, when the harness exits.
 */
export async function buildAt(commit: string, dir: string, log: (s: string) => void): Promise<BuildAt> {
  let sha: string;
  try {
    sha = git('rev-parse', '--verify', '--quiet', `${commit}^{commit}`);
  } catch {
    throw new CommitUnavailable(`commit ${commit} is not in this clone's history (shallow clone, or not a git checkout)`);
  }
  const subject = git('log', '-1', '--format=%s', sha);
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    try {
      git('worktree', 'remove', '--force', dir);
    } catch {
      // Already gone from disk: forget its metadata.
      try {
        git('worktree', 'prune');
      } catch {
        /* best effort */
      }
    }
  };
  git('worktree', 'add', '--detach', dir, sha);
  onExit(remove);
  try {
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
    const t0 = Date.now();
    log(`building ${sha.slice(0, 7)} ("${subject.slice(0, 60)}") in ${dir}`);
    await new Promise<void>((resolve, reject) => {
      const tsc = track(spawn(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
        cwd: dir, stdio: ['ignore', 'pipe', 'pipe'],
      }));
      let out = '';
      tsc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
      tsc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
      tsc.once('error', reject);
      tsc.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`tsc failed in the ${sha.slice(0, 7)} worktree (${code}):\n${out.slice(-2000)}`))));
    });
    if (!existsSync(path.join(dir, 'dist/src/main.js'))) throw new Error(`no dist/src/main.js after building ${sha.slice(0, 7)}`);
    return { commit, sha, subject, root: dir, buildSeconds: (Date.now() - t0) / 1000, remove };
  } catch (err) {
    remove();
    throw err;
  }
}
