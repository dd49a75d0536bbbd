/** socket.io-client@2 ships no types; the tests use only its connect/emit/on surface. */
declare module 'socket.io-client-v2' {
  interface LegacySocket {
    connected: boolean;
    on(event: string, fn: (...args: any[]) => void): LegacySocket;
    once(event: string, fn: (...args: any[]) => void): LegacySocket;
    emit(event: string, ...args: any[]): LegacySocket;
    close(): LegacySocket;
  }
  function io(url: string, opts?: Record<string, unknown>): LegacySocket;
  export = io;
}
