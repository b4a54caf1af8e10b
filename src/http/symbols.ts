/** Internal state the HTTP room keeps on user classes; none of these is exported from the package. */

/** On a controller class (own property): its route prefix. */
export const kController = Symbol('quiesce.controller');
/** On a controller prototype (own property): the routes its methods declare. */
export const kRoutes = Symbol('quiesce.routes');
