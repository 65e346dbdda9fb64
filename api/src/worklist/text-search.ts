/**
 * The worklist's free-text condition: every word of the query must occur in the study's folded
 * search text (patient name, patient id, accession, description). Each database answers it from
 * its token index (migration 0019) instead of scanning every study:
 * - SQLite: FTS5 trigram phrases, one per word of three or more characters (shorter words have no
 *   trigram and fall back to LIKE on the rows the other conditions leave);
 * - PostgreSQL: LIKE, which the pg_trgm index serves;
 * - SQL Server: CONTAINS with a prefix term per word (word prefixes, not substrings).
 */
import { foldForSearch } from '@pacs/shared';
import { literal, Op, type Sequelize, type WhereOptions } from 'sequelize';
import type { StudyAttributes } from '../db/models';

type Where = WhereOptions<StudyAttributes>;

/** The shortest word the trigram index can answer. */
const TRIGRAM = 3;

/** The query's words, folded like the stored text; LIKE wildcards dropped (dialects escape them differently). */
export function searchWords(q: string): string[] {
  return q
    .split(/\s+/)
    .map((word) => foldForSearch(word).replace(/[%_\\[\]]/g, ''))
    .filter((word) => word.length > 0);
}

const like = (word: string): Where => ({ searchText: { [Op.like]: `%${word}%` } });

/** Conditions on `studies` for the words of `q` (none for a query without words). */
export function textSearchWhere(q: string, sequelize: Sequelize): Where[] {
  const words = searchWords(q);
  if (words.length === 0) return [];
  const dialect = sequelize.getDialect();
  if (dialect === 'sqlite') {
    const indexed = words.filter((word) => [...word].length >= TRIGRAM);
    const where = words.filter((word) => [...word].length < TRIGRAM).map(like);
    if (indexed.length > 0) {
      // One FTS5 phrase per word (a phrase of trigrams is a substring); quotes doubled inside.
      const match = indexed.map((word) => `"${word.replace(/"/g, '""')}"`).join(' AND ');
      // `rowid` is SQLite's implicit row id (not a model attribute), the index's key.
      const matching = literal(`(SELECT "rowid" FROM study_search WHERE study_search MATCH ${sequelize.escape(match)})`);
      where.push({ rowid: { [Op.in]: matching } } as unknown as Where);
    }
    return where;
  }
  if (dialect === 'mssql') {
    // A prefix term per word. Double quotes would end the term; the word breaker drops them anyway.
    const terms = words.map((word) => word.replace(/"/g, '')).filter((word) => word.length > 0);
    if (terms.length === 0) return [];
    const contains = terms.map((word) => `"${word}*"`).join(' AND ');
    return [{ id: { [Op.in]: literal(`(SELECT [id] FROM [studies] WHERE CONTAINS([searchText], ${sequelize.escape(contains)}))`) } }];
  }
  return words.map(like);
}
