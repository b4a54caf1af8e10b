import { Module } from 'quiesce';
import { UserController } from './user.controller.js';
import { UserService } from './user.service.js';

@Module({ providers: [UserService], controllers: [UserController] })
export class UsersModule {}
