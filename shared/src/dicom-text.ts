/** DICOM text values as people read them, and as the worklist searches them. Pure functions. */

/**
 * "Family^Given^Middle^Prefix^Suffix" (alphabetic group only; ideographic and phonetic groups
 * after '=' are ignored) → "Family, Given Middle". Empty components are skipped.
 */
export function formatPersonName(pn: string | null | undefined): string {
  if (!pn) return '';
  const alphabetic = pn.split('=')[0] ?? '';
  const [family = '', given = '', middle = '', prefix = '', suffix = ''] = alphabetic.split('^').map((part) => part.trim());
  const first = [prefix, given, middle].filter(Boolean).join(' ');
  const last = [family, suffix].filter(Boolean).join(' ');
  if (last && first) return `${last}, ${first}`;
  return last || first;
}

/** Lower case without diacritics, so "Zoë" matches "zoe" and "MÜLLER" matches "muller". */
export function foldForSearch(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[\^=]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** DICOM DA "YYYYMMDD" (also the obsolete "YYYY.MM.DD") → "YYYYMMDD", or null if empty or invalid. */
export function normaliseDicomDate(value: string | null | undefined): string | null {
  if (!value) return null;
  const digits = value.trim().replace(/\./g, '');
  if (!/^\d{8}$/.test(digits)) return null;
  const year = Number(digits.slice(0, 4));
  const month = Number(digits.slice(4, 6));
  const day = Number(digits.slice(6, 8));
  const date = new Date(Date.UTC(year, month - 1, day));
  if (year < 1800 || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return null;
  return digits;
}

/** DICOM TM "HHMMSS.FFFFFF" (any prefix of it, or the obsolete "HH:MM:SS") → "HHMMSS[.F…]" or null. */
export function normaliseDicomTime(value: string | null | undefined): string | null {
  if (!value) return null;
  const text = value.trim().replace(/:/g, '');
  const match = /^(\d{2})(\d{2})?(\d{2})?(\.\d{1,6})?$/.exec(text);
  if (!match) return null;
  const [, hh, mm = '00', ss = '00', fraction = ''] = match;
  if (Number(hh) > 23 || Number(mm) > 59 || Number(ss) > 60) return null;
  return `${hh}${mm}${ss}${fraction}`;
}

/** "YYYY-MM-DD" or "YYYYMMDD" from a query string → "YYYYMMDD". */
export function dateFilterToDicom(value: string): string | null {
  return normaliseDicomDate(value.replace(/-/g, ''));
}
