import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { BlobStore } from '../../ports/index.js';

const SAFE_KEY = /^[A-Za-z0-9_-]+(?:\/[A-Za-z0-9_.-]+)*$/;

/** Blobs as files under dataDir/blobs, served to receivers by the local HTTP server. */
export class FileBlobStore implements BlobStore {
  private readonly root: string;
  private baseUrl = '';

  constructor(dataDir: string) {
    this.root = resolve(dataDir, 'blobs');
  }

  /** Known only once the local HTTP server listens. */
  setBaseUrl(baseUrl: string): void {
    this.baseUrl = baseUrl.replace(/\/$/, '');
  }

  /** Keys come from our own code, but a served key comes from a URL: refuse anything that could leave root. */
  private pathFor(key: string): string | undefined {
    if (!SAFE_KEY.test(key) || key.split('/').some((part) => part === '..' || part === '.')) return undefined;
    const path = join(this.root, key);
    return path.startsWith(this.root + sep) ? path : undefined;
  }

  async put(key: string, content: Buffer): Promise<void> {
    const path = this.pathFor(key);
    if (!path) throw new Error(`invalid blob key ${JSON.stringify(key)}`);
    await mkdir(dirname(path), { recursive: true });
    // Write-then-rename: a crash never leaves a half-written blob under the final name.
    const temporary = `${path}.${process.pid}.tmp`;
    await writeFile(temporary, content);
    await rename(temporary, path);
  }

  async get(key: string): Promise<Buffer | undefined> {
    const path = this.pathFor(key);
    if (!path) return undefined;
    try {
      return await readFile(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  url(key: string): string {
    return `${this.baseUrl}/blobs/${key}`;
  }
}
