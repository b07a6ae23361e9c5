/** The value of one series in a Prometheus text exposition (0 when absent), e.g. `name{a="b"}`. */
export const seriesValue = (text: string, series: string): number => {
  for (const line of text.split("\n")) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1))
  }
  return 0
}
