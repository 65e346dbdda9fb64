import { describe, expect, it } from 'vitest';
import { DEFAULT_FILTER, SERVER_QUERY_MAX, toServerQuery } from './filter';
import { describeDeviceScope } from './held-on-device';

describe('what the worklist says the device holds', () => {
  it('names each reason of the role’s scope, and nothing for a role that holds none', () => {
    expect(describeDeviceScope('resident')).toBe(
      'This device holds studies assigned to you, studies you follow, studies you opened in the last 7 days and unread arrivals of the last 48 hours in your modalities, with up to 5 priors of each.',
    );
    expect(describeDeviceScope('admin')).toBe('This device holds studies you follow and studies you opened in the last 7 days.');
    expect(describeDeviceScope('referrer')).toBe('This device holds no studies for your role.');
  });
});

describe('the search of the archive asks the API what the device filter means', () => {
  it('maps every filter, leaves out what is unset, and cuts the text at the API’s limit', () => {
    const query = toServerQuery(
      {
        q: `  ${'x'.repeat(80)} `,
        status: 'unread',
        priority: 'stat',
        modality: 'CT',
        assignee: 'me',
        dateFrom: '2026-01-01',
        dateTo: '2026-02-01',
        sort: 'received_desc',
      },
      100,
      'abc',
    );
    expect(Object.fromEntries(query)).toEqual({
      q: 'x'.repeat(SERVER_QUERY_MAX),
      status: 'unread',
      priority: 'stat',
      modality: 'CT',
      assignee: 'me',
      dateFrom: '2026-01-01',
      dateTo: '2026-02-01',
      sort: 'received_desc',
      limit: '100',
      cursor: 'abc',
    });
    expect(Object.fromEntries(toServerQuery(DEFAULT_FILTER, 50, null))).toEqual({ sort: 'priority', limit: '50' });
  });
});
