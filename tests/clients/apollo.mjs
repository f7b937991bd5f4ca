// Apollo Client with its persisted-queries link against a live server (tests/test_clients.py).
//
//   node apollo.mjs URL TOKEN
//
// 1. a query through APQ with a fresh client: a hashed GET (miss), then the document in a POST;
// 2. the same query from a second fresh client: one hashed GET (hit);
// 3. a mutation with variables (hashed POST, miss, then the document).
// Prints one JSON object: every HTTP exchange the link made, and the three results.
import { createHash } from 'node:crypto';
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';

const [url, token] = process.argv.slice(2);
if (!url || !token) {
  console.error('usage: node apollo.mjs URL TOKEN');
  process.exit(2);
}

const exchanges = [];

async function recordingFetch(input, init = {}) {
  const target = new URL(typeof input === 'string' ? input : input.url);
  const method = (init.method ?? 'GET').toUpperCase();
  const sent = method === 'GET'
    ? {
        query: target.searchParams.get('query'),
        extensions: JSON.parse(target.searchParams.get('extensions') ?? 'null'),
      }
    : JSON.parse(init.body);
  const response = await fetch(input, init);
  const body = await response.clone().json().catch(() => null);
  exchanges.push({
    method,
    sentQuery: Boolean(sent.query),
    sentHash: sent.extensions?.persistedQuery?.sha256Hash ?? null,
    status: response.status,
    contentType: response.headers.get('content-type'),
    cacheControl: response.headers.get('cache-control'),
    errorCodes: (body?.errors ?? []).map((e) => e.extensions?.code ?? null),
  });
  return response;
}

function client() {
  return new ApolloClient({
    cache: new InMemoryCache(),
    link: ApolloLink.from([
      new PersistedQueryLink({
        sha256: (text) => createHash('sha256').update(text).digest('hex'),
        useGETForHashedQueries: true,
      }),
      new HttpLink({
        uri: url,
        fetch: recordingFetch,
        headers: { authorization: `Bearer ${token}` },
      }),
    ]),
  });
}

const VIEWER = gql`
  query ApolloViewer {
    viewer {
      id
      name
    }
  }
`;
const CREATE = gql`
  mutation ApolloCreateWorkspace($input: CreateWorkspaceInput!) {
    createWorkspace(input: $input) {
      workspace {
        id
        slug
        name
      }
      userErrors {
        field
        message
        code
      }
    }
  }
`;

const first = await client().query({ query: VIEWER });
const afterFirst = exchanges.length;
const second = await client().query({ query: VIEWER });
const afterSecond = exchanges.length;
const mutation = await client().mutate({
  mutation: CREATE,
  variables: { input: { slug: 'apollo-ws', name: 'Made by Apollo' } },
});

console.log(
  JSON.stringify({

    firstQuery: { data: first.data, exchanges: exchanges.slice(0, afterFirst) },
    secondQuery: { data: second.data, exchanges: exchanges.slice(afterFirst, afterSecond) },
    mutation: { data: mutation.data, exchanges: exchanges.slice(afterSecond) },
  }),
);
