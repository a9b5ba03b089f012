// Runs once, when the data volume is empty: the services' own user, limited to their database.
// The name and password come from deploy/.env (MONGO_APP_USER, MONGO_APP_PASSWORD).
db.getSiblingDB("suqiu").createUser({
  user: process.env.MONGO_APP_USER,
  pwd: process.env.MONGO_APP_PASSWORD,
  roles: [{role: "readWrite", db: "suqiu"}],
});
