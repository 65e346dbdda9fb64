/**
 * The admin-editable mapping from the provider's groups to our roles. Ordered: the first entry
 * that names one of the user's groups gives the role, so a hospital lists its most specific
 * groups first. A user none of whose groups is listed gets no access at all (deny by default).
 */
import type { GroupRoleMapping, Role } from '@pacs/shared';
import type { Transaction } from 'sequelize';
import type { Models } from '../../db/models';
import { badRequest } from '../../http-errors';

export class GroupRoles {
  constructor(private readonly models: Models) {}

  async list(transaction?: Transaction): Promise<GroupRoleMapping[]> {
    const rows = await this.models.SsoGroupRole.findAll({ order: [['position', 'ASC']], raw: true, transaction });
    return rows.map((row) => ({ group: row.groupName, role: row.role as Role }));
  }

  /** Replaces the whole list (the admin edits it as one table). */
  async replace(items: GroupRoleMapping[], transaction: Transaction): Promise<void> {
    const seen = new Set<string>();
    for (const { group } of items) {
      if (seen.has(group)) throw badRequest(`group "${group}" is mapped twice`, 'SSO_MAPPING_INVALID');
      seen.add(group);
    }
    await this.models.SsoGroupRole.destroy({ where: {}, transaction });
    await this.models.SsoGroupRole.bulkCreate(
      items.map((item, position) => ({ groupName: item.group, role: item.role, position })),
      { transaction },
    );
  }

  async roleFor(groups: string[]): Promise<Role | null> {
    if (groups.length === 0) return null;
    const member = new Set(groups);
    const match = (await this.list()).find((mapping) => member.has(mapping.group));
    return match?.role ?? null;
  }
}
