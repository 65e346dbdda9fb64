/**
 * Measurements drawn in the viewer, per study and author (the client's id is the row's id, so a
 * replayed create is recorded once; deleted ones stay as tombstones for the same reason), and the
 * study's key images.
 */
import type { MigrationContext } from '@pacs/server-kit/database';
import { DataTypes } from 'sequelize';

export async function up({ context: { queryInterface: qi } }: MigrationContext): Promise<void> {
  await qi.createTable('measurements', {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    studyRef: { type: DataTypes.UUID, allowNull: false },
    authorId: { type: DataTypes.UUID, allowNull: false },
    tool: { type: DataTypes.STRING(16), allowNull: false },
    label: { type: DataTypes.STRING(200), allowNull: false },
    seriesInstanceUid: { type: DataTypes.STRING(64), allowNull: false },
    sopInstanceUid: { type: DataTypes.STRING(64), allowNull: false },
    frame: { type: DataTypes.INTEGER, allowNull: false },
    points: { type: DataTypes.TEXT, allowNull: false },
    measuredValues: { type: DataTypes.TEXT, allowNull: false },
    units: { type: DataTypes.TEXT, allowNull: false },
    createdAt: { type: DataTypes.DATE, allowNull: false },
    updatedAt: { type: DataTypes.DATE, allowNull: false },
    deletedAt: { type: DataTypes.DATE, allowNull: true },
  });
  await qi.addIndex('measurements', ['studyRef', 'deletedAt'], { name: 'measurements_study' });
  await qi.createTable('key_images', {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    studyRef: { type: DataTypes.UUID, allowNull: false },
    seriesInstanceUid: { type: DataTypes.STRING(64), allowNull: false },
    sopInstanceUid: { type: DataTypes.STRING(64), allowNull: false },
    frame: { type: DataTypes.INTEGER, allowNull: false },
    note: { type: DataTypes.STRING(200), allowNull: false },
    flaggedById: { type: DataTypes.UUID, allowNull: false },
    createdAt: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex('key_images', ['studyRef', 'sopInstanceUid', 'frame'], { name: 'key_images_image', unique: true });
}
