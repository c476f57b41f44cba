// Preload (NODE_OPTIONS="-r .../bind-localhost.cjs") that keeps a Node server on loopback.
// server-everything and similar test peers call listen(port) with no host, which binds every
// interface; the tests must never expose a server beyond 127.0.0.1, so every TCP listen() that
// names no host (or a wildcard host) is rewritten to bind 127.0.0.1. Unix sockets and handles
// are left alone.
'use strict';

const net = require('node:net');

const LOOPBACK = '127.0.0.1';
const WILDCARDS = new Set([undefined, null, '', '0.0.0.0', '::', '[::]']);
const originalListen = net.Server.prototype.listen;

function isPortLike(v) {
    return typeof v === 'number' || (typeof v === 'string' && /^\d+$/.test(v));
}

net.Server.prototype.listen = function listenOnLoopback(...args) {
    const first = args[0];
    if (isPortLike(first)) {
        // listen(port[, host][, backlog][, cb])
        if (typeof args[1] === 'string' || args[1] === null) {
            if (WILDCARDS.has(args[1])) {
                args[1] = LOOPBACK;
            }
        } else {
            args.splice(1, 0, LOOPBACK);
        }
    } else if (first === undefined || typeof first === 'function') {
        // listen([cb]): a random port on every interface
        args.splice(0, 0, 0, LOOPBACK);
    } else if (first && typeof first === 'object' && !Array.isArray(first)) {
        const isTcp = first.path === undefined && first.handle === undefined &&
            first._handle === undefined && first.fd === undefined;
        if (isTcp && WILDCARDS.has(first.host)) {
            args[0] = { ...first, host: LOOPBACK, ipv6Only: false };
        }
    }
    return originalListen.apply(this, args);
};
