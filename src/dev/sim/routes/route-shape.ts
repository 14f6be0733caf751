/**
 * The onboarding routes' part of costOf: users, groups and assignment ids normalised in the
 * route's name (one byRoute key per shape), and user and group lists priced as lists.
 */
export function onboardingShape(route: string, path: string): { shape: string; isList: boolean } {
  const shape = route
    .replace(/^\/(users|groups)\/[^/]+/, '/$1/{id}')
    .replace(/\/appRoleAssignedTo\/[^/]+/, '/appRoleAssignedTo/{assignmentId}');
  return { shape, isList: /^\/(users|groups)$/.test(path) };
}
