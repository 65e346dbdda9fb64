import { DataTypes, type Sequelize } from 'sequelize';

/**
 * Column types shared by all three dialects. Audit and outbox sequences are BIGINT on the server
 * databases; SQLite's AUTOINCREMENT works only on INTEGER (which is 64-bit there anyway).
 */
export function sequenceType(sequelize: Sequelize) {
  return sequelize.getDialect() === 'sqlite' ? DataTypes.INTEGER : DataTypes.BIGINT;
}
