import { Module } from 'quiesce';
import { AuditWriter } from './audit-writer.js';

@Module({ providers: [AuditWriter] })
export class AuditModule {}
