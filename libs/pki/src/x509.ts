// @peculiar/x509 resolves its algorithms through tsyringe, which throws at load time unless a
// Reflect metadata polyfill is installed first. Importing the library only through this module
// keeps that ordering in one place (ESM evaluates imports in order).
import 'reflect-metadata';

export * from '@peculiar/x509';
