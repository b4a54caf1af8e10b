import 'reflect-metadata';
import { Container, inject, injectable, type Newable } from 'inversify';
import { describe, expect, it } from 'vitest';
import { QuiesceError } from '../../src/errors.js';
import { Controller, Delete, Get, getControllerMetadata, isController, joinPath, Patch, Post, Put } from '../../src/http/controllers.js';

describe('joinPath', () => {
  it.each([
    ['/users', '/:id', '/users/:id'],
    ['/users', '', '/users'],
    ['/users', '/', '/users'],
    ['/users/', '/', '/users'],
    ['users', ':id', '/users/:id'],
    ['/api//v1/', '//items/', '/api/v1/items'],
    ['', '', '/'],
    ['', '/', '/'],
    ['/', '/health', '/health'],
  ])('%j + %j gives %j', (prefix, path, expected) => {
    expect(joinPath(prefix, path)).toBe(expected);
  });
});

describe('@Controller and the route decorators', () => {
  it('record the prefix and every route with its method, full path, handler name and fastify options', () => {
    const schema = { body: { type: 'object' } };
    @Controller('/users/')
    class UserController {
      @Get() list() {}
      @Get('/:id') get() {}
      @Post('/', { schema }) create() {}
      @Put('/:id') replace() {}
      @Patch(':id') update() {}
      @Delete('/:id') remove() {}
    }
    expect(getControllerMetadata(UserController)).toEqual({
      prefix: '/users',
      routes: [
        { method: 'GET', path: '/users', handlerName: 'list', options: {} },
        { method: 'GET', path: '/users/:id', handlerName: 'get', options: {} },
        { method: 'POST', path: '/users', handlerName: 'create', options: { schema } },
        { method: 'PUT', path: '/users/:id', handlerName: 'replace', options: {} },
        { method: 'PATCH', path: '/users/:id', handlerName: 'update', options: {} },
        { method: 'DELETE', path: '/users/:id', handlerName: 'remove', options: {} },
      ],
    });
  });

  it('defaults to no prefix and the root path', () => {
    @Controller()
    class RootController {
      @Get() index() {}
    }
    expect(getControllerMetadata(RootController)).toEqual({
      prefix: '',
      routes: [{ method: 'GET', path: '/', handlerName: 'index', options: {} }],
    });
  });

  it('tells controllers from other values', () => {
    @Controller('/a') class A {}
    class B {}
    expect(isController(A)).toBe(true);
    expect(isController(B)).toBe(false);
    expect(isController(undefined)).toBe(false);
    expect(getControllerMetadata(B)).toBeUndefined();
    expect(getControllerMetadata('x')).toBeUndefined();
  });

  it('inherits routes from a base class; the subclass has its own prefix and must be decorated itself', () => {
    class Base {
      @Get('/ping') ping() {}
    }
    @Controller('/v2')
    class V2 extends Base {
      @Get('/pong') pong() {}
    }
    class Undecorated extends V2 {}
    expect(getControllerMetadata(V2)?.routes.map((r) => `${r.method} ${r.path} ${String(r.handlerName)}`)).toEqual([
      'GET /v2/ping ping',
      'GET /v2/pong pong',
    ]);
    expect(isController(Undecorated)).toBe(false);
  });

  it('rejects route options that the decorator owns, static methods and non-methods', () => {
    expect(() => Get('/x', { handler: () => {} } as never)).toThrow(QuiesceError);
    expect(() => Post('/x', { url: '/y' } as never)).toThrow(/'url' comes from the decorator/);
    expect(() => {
      class S {
        @Get() static s() {}
      }
      return S;
    }).toThrow(/static method S\.s/);
  });

  it('rejects @Controller applied twice', () => {
    expect(() => {
      @Controller('/a')
      @Controller('/b')
      class Twice {}
      return Twice;
    }).toThrow(/applied twice/);
  });
});

describe('@Controller makes the class injectable for inversify', () => {
  @injectable()
  class Greeter {
    greet(name: string) {
      return `hello ${name}`;
    }
  }
  const PREFIX = Symbol('prefix');

  function resolve<T>(cls: Newable<T>): T {
    const container = new Container();
    container.bind(Greeter).toSelf();
    container.bind(PREFIX).toConstantValue('!');
    container.bind(cls).toSelf();
    return container.get(cls);
  }

  it('without @injectable()', () => {
    @Controller('/g')
    class GreetController {
      constructor(readonly greeter: Greeter, @inject(PREFIX) readonly suffix: string) {}
    }
    const controller = resolve(GreetController);
    expect(controller.greeter.greet('a') + controller.suffix).toBe('hello a!');
  });

  it('with @injectable() below @Controller', () => {
    @Controller('/g')
    @injectable()
    class GreetController {
      constructor(readonly greeter: Greeter) {}
    }
    expect(resolve(GreetController).greeter).toBeInstanceOf(Greeter);
  });

  it('with @injectable() above @Controller', () => {
    @injectable()
    @Controller('/g')
    class GreetController {
      constructor(readonly greeter: Greeter) {}
    }
    expect(resolve(GreetController).greeter).toBeInstanceOf(Greeter);
    expect(isController(GreetController)).toBe(true);
  });
});
