// The options of `pnpm bench`: --quick and the sizes of its runs.

export class Usage extends Error {}

const usage = 'usage: pnpm bench [--quick] [--journeys N (300)] [--warmup N (100)] [--step-seconds S (15)] [--max-rate R (60)] [--baseline-seconds S (10)]';

export function parseArgs(argv: string[]) {
  const quick = argv.includes('--quick');
  const o = { quick, journeys: quick ? 100 : 300, warmup: quick ? 30 : 100, stepSeconds: quick ? 8 : 15, maxRate: quick ? 40 : 60, baselineSeconds: quick ? 5 : 10 };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    const value = () => {
      const n = Number(inline ?? argv[++i]);
      if (!Number.isFinite(n) || n < 1) throw new Usage(`${flag} takes a positive number\n${usage}`);
      return n;
    };
    switch (flag) {
      case '--':
      case '--quick':
        break;
      case '--journeys':
        o.journeys = Math.floor(value());
        break;
      case '--warmup':
        o.warmup = Math.floor(value());
        break;
      case '--step-seconds':
        o.stepSeconds = value();
        break;
      case '--max-rate':
        o.maxRate = value();
        break;
      case '--baseline-seconds':
        o.baselineSeconds = value();
        break;
      case '--help':
      case '-h':
        throw new Usage(usage);
      default:
        throw new Usage(`unknown option ${flag}\n${usage}`);
    }
  }
  return o;
}
