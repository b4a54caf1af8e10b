import type { FastifyReply, FastifyRequest } from 'fastify';
import { Controller, Get, Post } from 'quiesce';
import { EmailTakenError } from './email-taken-error.js';
import { listQuerySchema, newUserSchema, userSchema, type NewUser, type User } from './user.js';
import { UserService } from './user.service.js';

/** Ids are `integer` columns: anything else cannot name a user. */
const ID = /^[1-9][0-9]{0,8}$/;

@Controller('/users')
export class UserController {
  constructor(private readonly users: UserService) {}

  @Post('', { schema: { body: newUserSchema, response: { 201: userSchema } } })
  async create(req: FastifyRequest<{ Body: NewUser }>, reply: FastifyReply): Promise<User | ErrorBody> {
    try {
      const user = await this.users.create(req.body);
      reply.code(201);
      return user;
    } catch (err) {
      if (!(err instanceof EmailTakenError)) throw err;
      reply.code(409);
      return { statusCode: 409, error: 'Conflict', message: err.message };
    }
  }

  @Get('/:id')
  async get(req: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply): Promise<User | ErrorBody> {
    const user = ID.test(req.params.id) ? await this.users.find(Number(req.params.id)) : undefined;
    if (user !== undefined) return user;
    reply.code(404);
    return { statusCode: 404, error: 'Not Found', message: `no user with id '${req.params.id}'` };
  }

  @Get('', { schema: { querystring: listQuerySchema } })
  async list(req: FastifyRequest<{ Querystring: { limit: number } }>): Promise<User[]> {
    return this.users.list(req.query.limit);
  }
}

interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
}
