// Phiacta's GraphiQL page: everything it loads comes from this server (see page.py).
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("phiacta-config").textContent);
  var here = new URL(window.location.href);
  var endpoint = here.origin + here.pathname;
  var socket = (here.protocol === "https:" ? "wss://" : "ws://") + here.host + here.pathname;
  // Headers from the Headers tab go with every HTTP request and, for subscriptions, in
  // the graphql-transport-ws connection_init payload (connectionParams).
  var fetcher = GraphiQL.createFetcher({ url: endpoint, subscriptionUrl: socket });
  var explorer = GraphiQLPluginExplorer.explorerPlugin();
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      plugins: [explorer],
      defaultTabs: config.tabs,
      // GraphiQL fills the editors of the first tab from these, not from defaultTabs.
      variables: config.tabs[0].variables,
      defaultHeaders: config.headers,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
      defaultEditorToolsVisibility: true,
      inputValueDeprecation: true,
    }),
  );
})();
