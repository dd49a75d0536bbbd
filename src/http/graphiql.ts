import express, { type Router } from 'express';
import path from 'node:path';

const assets: Record<string, string> = {
  'react.js': 'react/umd/react.production.min.js',
  'react-dom.js': 'react-dom/umd/react-dom.production.min.js',
  'graphiql.js': 'graphiql/graphiql.min.js',
  'graphiql.css': 'graphiql/graphiql.min.css',
};

const page = (title: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="stylesheet" href="/graphiql/graphiql.css">
<style>html,body,#graphiql{height:100%;margin:0}</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script src="/graphiql/react.js"></script>
<script src="/graphiql/react-dom.js"></script>
<script src="/graphiql/graphiql.js"></script>
<script src="/graphiql/init.js"></script>
</body>
</html>`;

/** Reads the headers pane; graphql-ws gets them as connectionParams (Authorization is honoured). */
const init = `(function () {
  var http = location.protocol + '//' + location.host + '/graphql';
  var ws = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/graphql';
  var fetcher = GraphiQL.createFetcher({ url: http, subscriptionUrl: ws });
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultEditorToolsVisibility: true,
    shouldPersistHeaders: false,
    defaultHeaders: '{}',
    defaultQuery: '# Welcome to the Shoe Store API.\\n# Log in with the demo credentials printed at start-up,\\n# paste the token into the Headers pane, then try a subscription.\\n\\nquery Catalogue {\\n  products(first: 5) {\\n    totalCount\\n    edges { node { id name brand price variants { size color stock } } }\\n  }\\n}\\n'
  }));
})();`;

function resolveAsset(rel: string): string {
  const [pkg, ...rest] = rel.split('/');
  return path.join(path.dirname(require.resolve(`${pkg}/package.json`)), ...rest);
}

/** A self-hosted GraphiQL: every asset comes from npm packages, nothing from a CDN. */
export function graphiqlRouter(): Router {
  const router = express.Router();
  const files = Object.fromEntries(Object.entries(assets).map(([k, v]) => [k, resolveAsset(v)]));
  router.get('/graphiql/init.js', (_req, res) => {
    res.type('application/javascript').set('Cache-Control', 'no-cache').send(init);
  });
  router.get('/graphiql/:file', (req, res, next) => {
    const f = files[req.params.file];
    if (!f) return next();
    res.sendFile(f, { maxAge: '1d', headers: { 'X-Content-Type-Options': 'nosniff' } });
  });
  return router;
}

/** Browsers asking for HTML at GET /graphql get the IDE; API clients fall through to Apollo. */
export function graphiqlPage(): express.RequestHandler {
  const html = page('Shoe Store API — GraphiQL');
  return (req, res, next) => {
    if (req.method !== 'GET' || !req.accepts(['application/json', 'text/html']) || req.accepts(['application/json', 'text/html']) !== 'text/html' || req.query.query) {
      return next();
    }
    res
      .type('html')
      .set('Content-Security-Policy', "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self' ws: wss:")
      .send(html);
  };
}
