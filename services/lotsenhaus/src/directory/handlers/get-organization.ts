import { directory as dir } from '@lotse/contracts';
import { NotFoundError } from '@lotse/grpc';
import { unary } from '../directory-records.js';
import { readOrganizations } from '../store.js';
import { validateGetOrganization } from '../validate.js';

/** One organisation with its entries; anyone of the network reads it. */
export const getOrganization = unary(dir.DirectoryServiceService.getOrganization, {
  access: 'network',
  validate: (req) => validateGetOrganization(req),
  async handle({ id }, { rt }) {
    const [organization] = await readOrganizations(rt.db, { id });
    if (!organization) throw new NotFoundError('id', id, 'organization');
    return { organization };
  },
});
