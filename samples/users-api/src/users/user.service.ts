import { inject, injectable, optional } from 'quiesce';
import { AuditWriter } from '../audit/audit-writer.js';
import { UserCache } from '../cache/user-cache.js';
import { Db } from '../db/db.js';
import { isUniqueViolation } from '../db/errors.js';
import { EmailTakenError } from './email-taken-error.js';
import type { NewUser, User } from './user.js';

/**
 * The domain: users in a `Db`, one audit row per creation, an optional read-through cache.
 * Nothing here knows which database or cache runs: quiesce injects them by type.
 */
@injectable()
export class UserService {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditWriter,
    @optional() @inject(UserCache) private readonly cache: UserCache | undefined,
  ) {}

  async create(input: NewUser): Promise<User> {
    let rows: User[];
    try {
      rows = await this.db.query<User>(
        'insert into users (name, email) values ($1, $2) returning id, name, email',
        [input.name, input.email],
      );
    } catch (err) {
      if (isUniqueViolation(err)) throw new EmailTakenError(input.email);
      throw err;
    }
    const user = rows[0];
    if (user === undefined) throw new Error('insert into users returned no row');
    this.audit.record(user.id, 'user.created');
    await this.cache?.invalidate(user.id);
    return user;
  }

  async find(id: number): Promise<User | undefined> {
    const cached = await this.cache?.get(id);
    if (cached !== undefined) return cached;
    const [user] = await this.db.query<User>('select id, name, email from users where id = $1', [id]);
    if (user !== undefined) await this.cache?.set(user);
    return user;
  }

  async list(limit: number): Promise<User[]> {
    return this.db.query<User>('select id, name, email from users order by id limit $1', [limit]);
  }
}
