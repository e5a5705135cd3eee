import { directory as dir } from '@lotse/contracts';
import { unary } from '../directory-records.js';
import { readOrganizations } from '../store.js';
import { validateListOrganizations } from '../validate.js';

/** The directory's organisations with their entries, all or those serving one municipality; anyone of the network reads it. */
export const listOrganizations = unary(dir.DirectoryServiceService.listOrganizations, {
  access: 'network',
  validate: (req, rt) => validateListOrganizations(req, rt.municipalities),
  async handle({ municipality }, { rt }) {
    return { organizations: await readOrganizations(rt.db, { municipality }) };
  },
});
