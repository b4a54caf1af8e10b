import { Module } from 'quiesce';
import { UnitOfWork } from '../db/unit-of-work.js';
import { OrderHandler } from './order-handler.js';

/** Per-message providers: one of each per `app.createScope()`, disposed when that scope closes. */
@Module({
  providers: [
    { provide: UnitOfWork, useClass: UnitOfWork, scope: 'request' },
    { provide: OrderHandler, useClass: OrderHandler, scope: 'request' },
  ],
})
export class OrdersModule {}
