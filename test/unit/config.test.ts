/** Config is validated once; a missing or malformed variable names itself and its fix. */
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULTS, loadConfig } from '../../src/config.ts';

describe('config', () => {
  it('applies the visible defaults', () => {
    const cfg = loadConfig({});
    expect(cfg.GRAPH_BASE_URL).toBe(DEFAULTS.GRAPH_BASE_URL);
    expect(cfg.GRAPH_WRITE_LIMIT).toBe(3000);
    expect(cfg.GRAPH_WRITE_WINDOW_MS).toBe(150_000);
    expect(cfg.BULLMQ_PREFIX).toBe('{provflow}');
  });

  it.each([
    [['redis'], {}, /REDIS_URL is not set: set it to your Redis/],
    [['graph'], {}, /AZURE_TENANT_ID is not set[\s\S]*AZURE_CLIENT_ID is not set/],
    [
      ['graph'],
      { AZURE_TENANT_ID: 't', AZURE_CLIENT_ID: 'c' },
      /AZURE_CLIENT_SECRET is not set.*AZURE_CLIENT_CERTIFICATE_PATH/,
    ],
    [['secretKey'], {}, /PROVFLOW_SECRET_KEY is not set.*openssl rand -base64 32/],
    [['board'], {}, /BOARD_USERNAME is not set[\s\S]*BOARD_PASSWORD is not set/],
  ] as const)('requirement %j without its variables names them', (req, env, msg) => {
    expect(() => loadConfig(env, [...req])).toThrow(msg);
  });

  it.each([
    ['REDIS_URL', 'localhost:6379', /REDIS_URL: must look like redis:\/\/host:6379/],
    ['GRAPH_WRITE_LIMIT', 'lots', /GRAPH_WRITE_LIMIT/],
    ['GRAPH_LIMIT_SAFETY', '1.5', /GRAPH_LIMIT_SAFETY/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL/],
    ['BULLMQ_PREFIX', 'a:b', /BULLMQ_PREFIX: no colons/],
    ['PROVFLOW_THROTTLE_ENGINE', 'redis-cell', /PROVFLOW_THROTTLE_ENGINE: use native \(the default\) or bottleneck/],
  ])('a malformed %s is named', (name, value, msg) => {
    expect(() => loadConfig({ [name]: value })).toThrow(msg);
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
  });

  it('selects the throttle engine (native unless told otherwise)', () => {
    expect(loadConfig({}).PROVFLOW_THROTTLE_ENGINE).toBe('native');
    expect(loadConfig({ PROVFLOW_THROTTLE_ENGINE: 'bottleneck' }).PROVFLOW_THROTTLE_ENGINE).toBe('bottleneck');
  });

  it('treats empty strings as unset (compose files produce them)', () => {
    expect(loadConfig({ REDIS_URL: '' }).REDIS_URL).toBeUndefined();
  });

  it('accepts a certificate instead of a client secret', () => {
    const cfg = loadConfig({ AZURE_TENANT_ID: 't', AZURE_CLIENT_ID: 'c', AZURE_CLIENT_CERTIFICATE_PATH: '/x.pem' }, [
      'graph',
    ]);
    expect(cfg.AZURE_CLIENT_CERTIFICATE_PATH).toBe('/x.pem');
  });

  it.each([
    ['https://ops:Pa55word-canary@hooks.example.com/provflow', /user:password@.*PROVFLOW_WEBHOOK_AUTHORIZATION/],
    ['https://only-user-canary@hooks.example.com/provflow', /credentials/],
    ['ftp://hooks.example.com/provflow', /scheme 'ftp:'.*only http:\/\/ and https:\/\//],
    ['javascript:alert(1)', /scheme 'javascript:'/],
    ['file:///etc/passwd', /scheme 'file:'/],
    ['hooks.example.com/x?token=canary', /not an absolute URL/],
  ])('refuses the webhook URL %s at start-up, naming the fix and never quoting the URL', (url, msg) => {
    let thrown: unknown;
    try {
      loadConfig({ PROVFLOW_WEBHOOK_URL: url });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    const text = (thrown as Error).message;
    expect(text).toContain('PROVFLOW_WEBHOOK_URL');
    expect(text).toMatch(msg);
    expect(text).not.toContain('canary');
    expect(text).not.toContain('Pa55word');
  });

  it('accepts an http(s) webhook URL with a token in its path, and a separate authorization', () => {
    const url = 'https://hooks.example.com/T0/B0/xyz';
    const cfg = loadConfig({ PROVFLOW_WEBHOOK_URL: url, PROVFLOW_WEBHOOK_AUTHORIZATION: 'Bearer t' });
    expect(cfg.PROVFLOW_WEBHOOK_URL).toBe(url);
    expect(cfg.PROVFLOW_WEBHOOK_AUTHORIZATION).toBe('Bearer t');
  });

  it('hides user:password of a malformed URL-valued variable', () => {
    const bad = () => loadConfig({ REDIS_URL: 'http://:redis-canary@cache:6379' });
    expect(bad).toThrow(/got "http:\/\/\*\*\*@cache:6379"/);
    expect(bad).not.toThrow(/redis-canary/);
  });
});
