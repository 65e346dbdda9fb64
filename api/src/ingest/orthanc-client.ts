/**
 * Orthanc's REST API, as the API reads it: studies with their series and instances, the change
 * feed, and a liveness probe. Answers are typed as untrusted until checked field by field.
 */

export class OrthancUnavailable extends Error {
  override name = 'OrthancUnavailable';
}
export class OrthancNotFound extends Error {
  override name = 'OrthancNotFound';
}

type Tags = Record<string, unknown>;

export interface OrthancStudy {
  ID: string;
  MainDicomTags: Tags;
  PatientMainDicomTags: Tags;
  Series: string[];
}
export interface OrthancSeries {
  ID: string;
  MainDicomTags: Tags;
  Instances: string[];
}
export interface OrthancInstance {
  ID: string;
  MainDicomTags: Tags;
  ParentSeries: string;
}
export interface OrthancChange {
  ChangeType: string;
  ResourceType: string;
  ID: string;
  Seq: number;
}
export interface OrthancChanges {
  Changes: OrthancChange[];
  Done: boolean;
  Last: number;
}

export function tag(tags: Tags | undefined, name: string): string {
  const value = tags?.[name];
  return typeof value === 'string' ? value.trim() : '';
}

export class OrthancClient {
  readonly authorization: string;

  constructor(
    readonly baseUrl: string,
    username: string,
    password: string,
    private readonly timeoutMs = 10_000,
  ) {
    this.authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  }

  /** Raw request, for the DICOMweb proxy (streams the body through). */
  async fetch(pathAndQuery: string, init: RequestInit = {}, timeoutMs = this.timeoutMs): Promise<Response> {
    try {
      return await fetch(`${this.baseUrl}${pathAndQuery}`, {
        ...init,
        headers: { ...(init.headers as Record<string, string>), authorization: this.authorization },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new OrthancUnavailable(`Orthanc unreachable: ${(error as Error).name}`);
    }
  }

  private async json<T>(pathAndQuery: string): Promise<T> {
    const response = await this.fetch(pathAndQuery, { headers: { accept: 'application/json' } });
    if (response.status === 404) throw new OrthancNotFound(pathAndQuery);
    if (!response.ok) throw new OrthancUnavailable(`Orthanc answered ${response.status} for ${pathAndQuery.split('?')[0]}`);
    return (await response.json()) as T;
  }

  study(id: string): Promise<OrthancStudy> {
    return this.json(`/studies/${encodeURIComponent(id)}`);
  }
  /** Counts and sizes, from Orthanc's database (no file is read). */
  studyStatistics(id: string): Promise<{ CountInstances?: unknown }> {
    return this.json(`/studies/${encodeURIComponent(id)}/statistics`);
  }
  studySeries(id: string): Promise<OrthancSeries[]> {
    return this.json(`/studies/${encodeURIComponent(id)}/series`);
  }
  studyInstances(id: string): Promise<OrthancInstance[]> {
    return this.json(`/studies/${encodeURIComponent(id)}/instances`);
  }
  instanceTags(id: string): Promise<Tags> {
    return this.json(`/instances/${encodeURIComponent(id)}/simplified-tags`);
  }
  /** Study ids, paged (Orthanc answers in creation order). */
  studyIds(since: number, limit: number): Promise<string[]> {
    return this.json(`/studies?since=${since}&limit=${limit}`);
  }
  changes(since: number, limit: number): Promise<OrthancChanges> {
    return this.json(`/changes?since=${since}&limit=${limit}`);
  }
  async system(): Promise<{ Version: string }> {
    return this.json('/system');
  }
}
