import { CliError } from './backup';

export interface ProjectionRow {
  name: string;
  status: string;
  position: string;
  lag: number;
  version: number;
  rebuild?: { version: number; position: string };
  lastError?: string;
}

/** The running service's admin routes, with the key from CRM_API_KEY (kept off the command line and out of shell history). */
export class ServiceClient {
  constructor(
    private readonly url: string,
    private readonly key = process.env.CRM_API_KEY,
  ) {}

  projections(): Promise<ProjectionRow[]> {
    return this.call('GET', '/projections') as Promise<ProjectionRow[]>;
  }

  async rebuild(name: string): Promise<void> {
    await this.call('POST', `/projections/${encodeURIComponent(name)}/rebuild`);
  }

  private async call(method: string, path: string): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.url), { method, headers: this.key ? { authorization: `Bearer ${this.key}` } : {} });
    } catch (error) {
      throw new CliError(`Cannot reach the service at ${this.url} (${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message})`, 3);
    }
    const body = await res.json().catch(() => undefined);
    if (res.ok) return body;
    const detail = (body as { detail?: string } | undefined)?.detail ?? res.statusText;
    if (res.status === 401 || res.status === 403) throw new CliError(`The service refused ${method} ${path} (${res.status}): ${detail}. Set CRM_API_KEY to a key with the admin role`, 2);
    throw new CliError(`${method} ${path} answered ${res.status}: ${detail}`, res.status < 500 ? 2 : 3);
  }
}
