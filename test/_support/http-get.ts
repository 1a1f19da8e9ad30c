/**
 * A GET over `node:http` with kept-alive connections, for the tests that send thousands of
 * requests (the load test, the multi-instance test). `fetch` costs about twice the CPU per
 * request on loopback, and those tests measure the servers, not the client. Tests of what a
 * client sees (header folding, byte-identical denies) keep using `fetch`.
 */
import http, { type IncomingHttpHeaders } from 'node:http'

const agent = new http.Agent({ keepAlive: true })

export interface GetAnswer {
  status: number
  headers: IncomingHttpHeaders
  text: string
}

/** `GET url` with `headers`; resolves once the whole body has arrived. */
export function httpGet(url: string, headers: Record<string, string> = {}): Promise<GetAnswer> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent, headers }, (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (text += chunk))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }))
        res.on('error', reject)
      })
      .on('error', reject)
  })
}
