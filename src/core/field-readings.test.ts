import { describe, expect, it } from 'vitest';
import { queryAsRead } from './field-readings.ts';

describe('queryAsRead', () => {
  it('adds each name a framework reads a parameter as, with its values', () => {
    expect(queryAsRead({ 'user.id': ['2'] })).toEqual({ 'user.id': ['2'], user_id: ['2'] });
    expect(queryAsRead({ ' user_id': ['2'] })).toEqual({ ' user_id': ['2'], user_id: ['2'] });
    expect(queryAsRead({ '[debug]': ['1'] })).toEqual({ '[debug]': ['1'], '_debug]': ['1'], debug: ['1'] });
    expect(queryAsRead({ 'a[x]': ['1'], 'a[y]': ['2', '3'] })).toEqual({ 'a[x]': ['1'], 'a[y]': ['2', '3'], a: ['1', '2', '3'] });
  });

  it('leaves a name every framework reads as written alone, and never a name written as such', () => {
    expect(queryAsRead({ user_id: ['1'], page: ['2'] })).toEqual({ user_id: ['1'], page: ['2'] });
    expect(queryAsRead({ 'User.Id': ['2'], user_id: ['1'] })).toEqual({ 'User.Id': ['2'], user_id: ['1'] });
  });
});
